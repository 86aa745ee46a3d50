"""Which mailbox a message came in through: pure rules over the addresses it names.

The envelope recipient (RCPT TO, Delivered-To, X-Original-To) is the surest sign, then To,
then Cc. Addresses compare case-insensitively; a mailbox's aliases count like its main address.
Routing never looks at display names or comments: only at parsed addresses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MailboxConfig:
    """What intake needs of a mailbox while taking a message."""

    id: str
    name: str
    addresses: tuple[str, ...]
    channel: str
    trusted: bool = False
    routing: dict[str, Any] = field(default_factory=dict)
    partner_pattern: str | None = None
    unknown_senders: str = "create"
    automatic_mail: str = "register"
    active: bool = True

    def owns(self, address: str) -> bool:
        return address.strip().lower() in self.addresses


def normalise_addresses(addresses: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for address in addresses:
        seen.setdefault(address.strip().lower(), None)
    return tuple(seen)


def resolve(
    mailboxes: Sequence[MailboxConfig],
    *,
    envelope: Sequence[str] = (),
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
) -> MailboxConfig | None:
    """The mailbox of the first address that one owns, envelope first, then To, then Cc."""
    for address in [*envelope, *to, *cc]:
        for mailbox in mailboxes:
            if mailbox.owns(address):
                return mailbox
    return None


@dataclass(frozen=True)
class Route:
    """The mailbox a message came in through, and whether the channel itself named it."""

    mailbox: MailboxConfig | None
    by_channel: bool = False


def route(
    mailboxes: Sequence[MailboxConfig],
    *,
    mailbox_id: str | None = None,
    envelope: Sequence[str] = (),
    delivered_to: Sequence[str] = (),
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
) -> Route:
    """By the id the channel knows (even of a mailbox since deactivated), else by ``resolve`` over
    the active mailboxes: the channel's envelope, then Delivered-To/X-Original-To, To, Cc."""
    if mailbox_id:
        known = next((m for m in mailboxes if m.id == mailbox_id), None)
        if known:
            return Route(known, by_channel=True)
    active = [m for m in mailboxes if m.active]
    found = resolve(active, envelope=envelope)
    if found:
        return Route(found, by_channel=True)
    return Route(resolve(active, envelope=delivered_to, to=to, cc=cc))


def own_addresses(mailboxes: Sequence[MailboxConfig]) -> frozenset[str]:
    """Every address of every mailbox, active or not: mail from any of them is our own."""
    return frozenset(a for m in mailboxes for a in m.addresses)


def address_conflicts(
    mailboxes: Sequence[MailboxConfig], addresses: Sequence[str], *, except_id: str | None
) -> list[str]:
    """Addresses already owned by another mailbox: one address, one mailbox."""
    taken = {a for m in mailboxes if m.id != except_id for a in m.addresses}
    return [a for a in normalise_addresses(addresses) if a in taken]
