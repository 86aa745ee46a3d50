"""Automatic assignment of a new case, after the case type completed it (see ``lifecycle``).

Only a case without an assignee, in a group that assigns automatically (``turns.Method``). The
group's assignment row is locked for the rest of the registration (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite has one writer at a time): two replicas registering cases in the same group
at once take turns, so round robin never hands out the same turn twice and least-open counts
the case the other one just assigned.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from services.cases.models import Case
from services.cases.relations import audit
from services.cases.rules import repository, turns
from services.cases.rules.models import GroupAssignment
from shared.db import UnitOfWork

logger = logging.getLogger(__name__)


async def assign(uow: UnitOfWork, case: Case) -> None:
    """Give the case to the group's next agent by the group's method; manual groups leave it be."""
    if case.assignee:
        return
    session = uow.session
    # The case is complete but not flushed; the queries below need not see it (it has no assignee).
    with session.no_autoflush:
        group = await repository.assigning_group(session, group_key=case.group, queue_key=case.queue)
        if group is None:
            return
        method = await session.scalar(
            select(GroupAssignment.method).where(GroupAssignment.group_id == group.id)
        )
        if method is None or method == turns.Method.MANUAL:
            return
        state = await repository.assignment(session, group.id, lock=True)
        assert state is not None  # rows are never deleted
        method = turns.Method(state.method)  # as it stands now that we hold the lock
        members = await repository.members(session, group.id)
        chosen = await _choose(uow, method, members, state)
    if chosen is None:
        logger.info("case %s: no available agent in group %s (%s)", case.number, group.key, method.value)
        return
    case.assignee = chosen.email
    state.last_user_id = chosen.user_id
    state.last_assigned_at = uow.now()
    audit.record(
        uow,
        case,
        action="auto_assigned",
        origin="rule",
        actor=f"assignment:{method.value}",
        field="assignee",
        old=None,
        new=chosen.email,
    )


async def _choose(
    uow: UnitOfWork, method: turns.Method, members: list[turns.Member], state: GroupAssignment
) -> turns.Member | None:
    if method is turns.Method.ROUND_ROBIN:
        last = await repository.user_email(uow.session, state.last_user_id)
        return turns.next_in_turn(members, last_email=last)
    if method is turns.Method.LEAST_OPEN:
        counts = await repository.open_cases(uow.session, [m.email for m in turns.candidates(members)])
        return turns.fewest_open(members, open_cases=counts)
    return None
