"""Events published by the notify service."""

from __future__ import annotations

from pydantic import AwareDatetime

from shared.events.base import Event


class MailSent(Event):
    """An outgoing mail was handed to SMTP (or written to the mail folder)."""

    producer = "notify"
    event = "mail_sent"

    mail_id: str
    kind: str
    case_number: str | None = None
    to: list[str]
    subject: str
    rfc_message_id: str
    sent_at: AwareDatetime


class MailFailed(Event):
    """An outgoing mail could not be delivered; permanent when no retry will follow."""

    producer = "notify"
    event = "mail_failed"

    mail_id: str
    kind: str
    case_number: str | None = None
    to: list[str]
    reason: str
    permanent: bool
    failed_at: AwareDatetime
