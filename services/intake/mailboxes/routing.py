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


def address_conflicts(
    mailboxes: Sequence[MailboxConfig], addresses: Sequence[str], *, except_id: str | None
) -> list[str]:
    """Addresses already owned by another mailbox: one address, one mailbox."""
    taken = {a for m in mailboxes if m.id != except_id for a in m.addresses}
    return [a for a in normalise_addresses(addresses) if a in taken]
