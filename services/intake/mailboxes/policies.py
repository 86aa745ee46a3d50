"""What a mailbox's policies and intake's loop rules make of a readable message. Pure, no I/O:
the caller counts the sender's recent mails and looks up our own addresses.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta

from services.intake.mailboxes.routing import MailboxConfig


@dataclass(frozen=True)
class LoopPolicy:
    """Intake's guard against mail loops, beside what the message's own headers say."""

    message_id_domain: str = "allsak.local"
    sender_cap: int = 10
    sender_cap_minutes: float = 10

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.sender_cap_minutes)


def loop_reason(
    *,
    sender: str,
    message_id: str | None,
    own_addresses: Collection[str],
    recent_from_sender: int,
    policy: LoopPolicy,
) -> str | None:
    """Why a message counts as automatic although its headers do not say so, or None.

    Mail from one of our own mailbox addresses, or with a Message-ID we made, has come back to
    us; a sender over the cap is an autoresponder (or a script) talking to ours. The count is of
    the sender's earlier messages within the window, this one not included.
    """
    address = sender.strip().lower()
    if address in {own.strip().lower() for own in own_addresses}:
        return f"sent from our own address {address}"
    domain = message_id_domain(message_id)
    if domain and domain == policy.message_id_domain.strip().lower():
        return f"Message-ID {message_id} is one of ours"
    if recent_from_sender >= policy.sender_cap:
        minutes = f"{policy.sender_cap_minutes:g}"
        return f"more than {policy.sender_cap} mails from {address} in {minutes} minutes"
    return None


def message_id_domain(message_id: str | None) -> str | None:
    """The right-hand side of ``<local@domain>``, lower case."""
    if not message_id:
        return None
    local, at, domain = message_id.strip().strip("<>").rpartition("@")
    return domain.lower() if at and local and domain else None


def partner_reference(pattern: str | None, *texts: str) -> str | None:
    """The first match of the mailbox's partner pattern in the texts, in order (subject, then body):
    its capturing group when it has one, else the whole match."""
    if not pattern:
        return None
    try:
        compiled = re.compile(pattern)
    except re.error:  # checked when the mailbox was saved; a bad one must not stop the intake
        return None
    for text in texts:
        found = compiled.search(text or "")
        value = (found.group(1) if compiled.groups else found.group(0)) if found else None
        if value and value.strip():
            return value.strip()
    return None


def create_customer(mailbox: MailboxConfig | None) -> bool:
    """Unknown senders become customers unless the mailbox sends them to quarantine."""
    return mailbox is None or mailbox.unknown_senders == "create"


def drops_automatic(mailbox: MailboxConfig | None) -> bool:
    """A mailbox with automatic_mail "drop" keeps automatic mail as a record only."""
    return mailbox is not None and mailbox.automatic_mail == "drop"


def honoured_headers(
    found: Mapping[str, str], *, mailbox: MailboxConfig | None, by_channel: bool, channel_named: bool
) -> dict[str, str]:
    """The X-Allsak-* values the cases service may act on: only from a trusted mailbox.

    Anyone can write these headers, and To or Delivered-To too; so when the channel named the
    recipient itself (RCPT TO, the polled mailbox) but the trusted mailbox was found only in the
    headers, they are not honoured.
    """
    if mailbox is None or not mailbox.trusted:
        return {}
    if channel_named and not by_channel:
        return {}
    return dict(found)
