"""Use cases of mailboxes: configure them, and find the one a message belongs to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.intake.mailboxes import routing
from services.intake.mailboxes.schemas import MailboxCreate, MailboxUpdate
from services.intake.models import Mailbox
from shared.db import Database


class MailboxNotFound(LookupError):
    pass


class AddressTaken(ValueError):
    def __init__(self, addresses: list[str]) -> None:
        super().__init__(f"address already belongs to another mailbox: {', '.join(addresses)}")
        self.addresses = addresses


class NameTaken(ValueError):
    pass


def config(mailbox: Mailbox) -> routing.MailboxConfig:
    return routing.MailboxConfig(
        id=mailbox.id,
        name=mailbox.name,
        addresses=tuple(mailbox.addresses),
        channel=mailbox.channel,
        trusted=mailbox.trusted,
        routing=dict(mailbox.routing or {}),
        partner_pattern=mailbox.partner_pattern,
        unknown_senders=mailbox.unknown_senders,
        automatic_mail=mailbox.automatic_mail,
        active=mailbox.active,
    )


async def active_configs(db: Database, *, channel: str | None = None) -> list[routing.MailboxConfig]:
    async with db.sessions() as session:
        query = select(Mailbox).where(Mailbox.active.is_(True)).order_by(Mailbox.name)
        if channel:
            query = query.where(Mailbox.channel == channel)
        return [config(m) for m in await session.scalars(query)]


async def all_configs(db: Database) -> list[routing.MailboxConfig]:
    """Every mailbox, active or not: a message is routed among the active ones, but mail from
    any of our addresses is our own, and a polled mailbox is known by its id."""
    async with db.sessions() as session:
        return [config(m) for m in await session.scalars(select(Mailbox).order_by(Mailbox.name))]


async def list_mailboxes(db: Database) -> list[Mailbox]:
    async with db.sessions() as session:
        return list(await session.scalars(select(Mailbox).order_by(Mailbox.name)))


async def get_mailbox(db: Database, mailbox_id: str) -> Mailbox:
    async with db.sessions() as session:
        mailbox = await session.get(Mailbox, mailbox_id)
    if mailbox is None:
        raise MailboxNotFound(mailbox_id)
    return mailbox


async def create_mailbox(db: Database, body: MailboxCreate) -> Mailbox:
    """A new mailbox; each address belongs to one mailbox only."""
    async with db.uow() as uow:
        existing = [config(m) for m in await uow.session.scalars(select(Mailbox))]
        await _check_unique(
            uow.session, existing, name=body.name, addresses=list(body.addresses), except_id=None
        )
        now = uow.now()
        mailbox = Mailbox(
            id=str(uow.db.ids()),
            name=body.name,
            addresses=list(routing.normalise_addresses(body.addresses)),
            channel=body.channel,
            active=body.active,
            imap=body.imap.model_dump() if body.imap else None,
            secret=body.secret.get_secret_value() if body.secret else None,
            trusted=body.trusted,
            routing=body.routing.model_dump(exclude_none=True),
            partner_pattern=body.partner_pattern,
            unknown_senders=body.unknown_senders,
            automatic_mail=body.automatic_mail,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(mailbox)
        await uow.commit()
    return mailbox


async def update_mailbox(db: Database, mailbox_id: str, body: MailboxUpdate) -> Mailbox:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    async with db.uow() as uow:
        mailbox = await uow.session.get(Mailbox, mailbox_id)
        if mailbox is None:
            raise MailboxNotFound(mailbox_id)
        existing = [config(m) for m in await uow.session.scalars(select(Mailbox))]
        await _check_unique(
            uow.session,
            existing,
            name=changes.get("name"),
            addresses=changes.get("addresses") or [],
            except_id=mailbox.id,
        )
        if "addresses" in changes:
            changes["addresses"] = list(routing.normalise_addresses(changes["addresses"]))
        if body.secret is not None:
            changes["secret"] = body.secret.get_secret_value()
        if "routing" in changes and body.routing is not None:
            changes["routing"] = body.routing.model_dump(exclude_none=True)
        for name, value in changes.items():
            setattr(mailbox, name, value)
        if mailbox.channel == "imap" and (mailbox.imap is None or mailbox.secret is None):
            raise ValueError("an imap mailbox needs 'imap' settings and a 'secret'")
        mailbox.updated_at = uow.now()
        await uow.commit()
    return mailbox


async def _check_unique(
    session: Any,
    existing: list[routing.MailboxConfig],
    *,
    name: str | None,
    addresses: list[str],
    except_id: str | None,
) -> None:
    if name and any(m.name == name and m.id != except_id for m in existing):
        raise NameTaken(f"a mailbox named {name!r} exists")
    taken = routing.address_conflicts(existing, addresses, except_id=except_id)
    if taken:
        raise AddressTaken(taken)
