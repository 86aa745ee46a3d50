"""Defaults a fresh cases service starts with: the default queue, owned by a default group.

Cases that arrive without a routing rule land in ``ALLSAK_DEFAULT_QUEUE`` ("Servicedesk"). So
that its agents can see them once an admin puts them in the group, the queue gets a row owned
by the group ``ALLSAK_DEFAULT_GROUP`` at the first start. An existing queue row with that key
is left as it is (an admin may have given it to another group); nothing else is ever seeded.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from services.cases import repository
from services.cases.models import Group, Queue
from services.cases.settings import Settings
from shared.db import Database

logger = logging.getLogger(__name__)


async def ensure_default_queue(db: Database, settings: Settings) -> None:
    """The default queue and its owning group exist; idempotent, and safe for replicas at once."""
    async with db.uow() as uow:
        if await repository.queue_by_key(uow.session, settings.default_queue) is not None:
            return
        now = uow.now()
        group = await repository.group_by_key(uow.session, settings.default_group)
        if group is None:
            group = Group(
                id=str(db.ids()), key=settings.default_group, name=settings.default_group, created_at=now
            )
            uow.session.add(group)
            await uow.session.flush()
        uow.session.add(
            Queue(
                id=str(db.ids()),
                key=settings.default_queue,
                name=settings.default_queue,
                group_id=group.id,
                active=True,
                created_at=now,
            )
        )
        try:
            await uow.commit()
        except IntegrityError:
            # Another replica starting at the same moment created them first.
            logger.info("default queue already created by another replica")
            return
    logger.info("default queue %s created, owned by group %s", settings.default_queue, group.key)
