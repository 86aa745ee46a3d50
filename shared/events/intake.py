"""Events published by the intake service."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from shared.events.base import Event


class MessageReceived(Event):
    """A message arrived on a channel, was stored raw and parsed; emitted once per stored message."""

    producer = "intake"
    event = "message_received"

    id: str = Field(description="Intake's id of the message, as answered to the sender of it")
    channel: str = Field(description="api, imap, smtp, lmtp or webhook")
    mailbox: str | None = None
    raw_sha256: str = Field(description="Content hash of the raw message in the blob store")
    sender_email: str
    sender_name: str | None = None
    subject: str = ""
    text_body: str = ""
    rfc_message_id: str | None = Field(default=None, description="The Message-ID header, with brackets")
    in_reply_to: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    auto_submitted: bool = Field(
        default=False, description="Machine-sent or bulk mail: never answer it automatically"
    )
    received_at: AwareDatetime


class MessageQuarantined(Event):
    """A message could not be taken as a case message and waits in quarantine with a reason."""

    producer = "intake"
    event = "message_quarantined"

    id: str
    channel: str
    reason: str
    detail: str = ""
    raw_sha256: str
    quarantined_at: AwareDatetime
