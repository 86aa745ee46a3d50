"""Which mailbox a message came in through, and what its policies and the loop rules make of it.

Used by a new arrival and by a quarantine retry alike, so that both take the same path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.intake import repository
from services.intake.domain import MessageState, Parsed
from services.intake.mailboxes import policies, routing
from services.intake.mailboxes import service as mailboxes
from services.intake.mailboxes.headers import allsak_headers, delivery_addresses, header_block
from services.intake.mailboxes.policies import LoopPolicy
from services.intake.models import Message
from shared.db import Database, UnitOfWork
from shared.events.intake import MessageReceived, Routing

logger = logging.getLogger(__name__)

HEADER_AUTOMATIC = "marked automatic by its headers"


@dataclass(frozen=True)
class Arrival:
    """Where a message came in, what the channel named, and what the policies need beside it."""

    route: routing.Route
    envelope: tuple[str, ...] = ()
    channel_named: bool = False
    own_addresses: frozenset[str] = frozenset()
    allsak_headers: dict[str, str] = field(default_factory=dict)

    @property
    def mailbox(self) -> routing.MailboxConfig | None:
        return self.route.mailbox


async def arrive(
    db: Database, *, raw: bytes, parsed: Parsed | None, mailbox_id: str | None, envelope: Sequence[str]
) -> Arrival:
    """Route by the channel's mailbox id or envelope, else Delivered-To/X-Original-To, To, Cc.

    Only parsed addresses count, never display names; without a parse (quarantine) only the
    channel and the delivery headers can tell.
    """
    headers = header_block(raw)
    configs = await mailboxes.all_configs(db)
    found = routing.route(
        configs,
        mailbox_id=mailbox_id,
        envelope=envelope,
        delivered_to=delivery_addresses(headers),
        to=parsed.to if parsed else (),
        cc=parsed.cc if parsed else (),
    )
    return Arrival(
        route=found,
        envelope=tuple(envelope),
        channel_named=bool(mailbox_id or envelope),
        own_addresses=routing.own_addresses(configs),
        allsak_headers=allsak_headers(headers),
    )


def place(message: Message, arrival: Arrival) -> None:
    """Record the mailbox on the message; without one, what the channel called it stays."""
    if arrival.mailbox is not None:
        message.mailbox = arrival.mailbox.addresses[0]
        message.mailbox_id = arrival.mailbox.id


async def announce(
    uow: UnitOfWork,
    message: Message,
    event: MessageReceived,
    *,
    arrival: Arrival,
    loops: LoopPolicy,
    create_customer: bool | None = None,
) -> bool:
    """Flag loops, apply the mailbox's policies and emit the message; False when the mailbox
    drops automatic mail and this is some: then it stays as a record only, and nothing is emitted."""
    mailbox = arrival.mailbox
    reason = await _automatic(uow, message, event, arrival=arrival, loops=loops)
    message.auto_reason = reason
    if reason and policies.drops_automatic(mailbox):
        message.state = MessageState.DROPPED
        message.drop_reason = f"automatic mail: {reason}"
        logger.info("message %s dropped: %s", message.id, reason, extra={"message_id": message.id})
        return False
    fields: dict[str, Any] = {
        "auto_submitted": reason is not None,
        "auto_reason": reason,
        "mailbox_id": mailbox.id if mailbox else None,
        "routing": Routing.model_validate(mailbox.routing) if mailbox else None,
        "partner_reference": policies.partner_reference(
            mailbox.partner_pattern if mailbox else None, event.subject, event.text_body
        ),
        "create_customer": policies.create_customer(mailbox) if create_customer is None else create_customer,
        "trusted_headers": _trusted_headers(message, arrival),
    }
    await uow.emit(event.model_copy(update=fields))
    return True


async def _automatic(
    uow: UnitOfWork, message: Message, event: MessageReceived, *, arrival: Arrival, loops: LoopPolicy
) -> str | None:
    if event.auto_submitted:
        return event.auto_reason or HEADER_AUTOMATIC
    # Earlier messages of the sender within the window before this one (a retry counts from
    # when the message first came, not from now).
    recent = await repository.count_from_sender(
        uow.session,
        event.sender_email,
        since=message.received_at - loops.window,
        until=message.received_at,
        except_id=message.id,
    )
    return policies.loop_reason(
        sender=event.sender_email,
        message_id=event.rfc_message_id,
        own_addresses=arrival.own_addresses,
        recent_from_sender=recent,
        policy=loops,
    )


def _trusted_headers(message: Message, arrival: Arrival) -> dict[str, str]:
    found = arrival.allsak_headers
    kept = policies.honoured_headers(
        found,
        mailbox=arrival.mailbox,
        by_channel=arrival.route.by_channel,
        channel_named=arrival.channel_named,
    )
    if found and not kept:
        if arrival.mailbox is None:
            why = "no mailbox"
        elif arrival.mailbox.trusted:
            why = "the trusted mailbox was found in the headers, not named by the channel"
        else:
            why = f"mailbox {arrival.mailbox.name} is not trusted"
        logger.info(
            "X-Allsak headers of message %s dropped: %s",
            message.id,
            why,
            extra={"message_id": message.id, "mailbox": message.mailbox, "headers": sorted(found)},
        )
    return kept
