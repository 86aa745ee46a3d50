"""Events published by the intake service."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.base import Event


class Attachment(BaseModel):
    """A part of a message kept in the blob store: a file, an inline image, a forwarded message."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sha256: str
    filename: str | None = None
    content_type: str
    size: int
    disposition: str = Field(default="attachment", description="attachment or inline")
    content_id: str | None = Field(default=None, description="For cid: links from the HTML, without <>")
    kind: str = Field(
        default="file", description="file, inline_image, forwarded_message, calendar, alternative, tnef"
    )


class Bounce(BaseModel):
    """What a delivery status notification (RFC 3464 or a common non-standard form) says."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    original_message_id: str | None = Field(default=None, description="Message-ID of the mail that bounced")
    recipients: list[str] = Field(default_factory=list)
    action: str = Field(default="failed", description="failed, delayed, delivered, relayed, expanded")
    status: str | None = Field(default=None, description="Enhanced status code, e.g. 5.1.1")
    permanent: bool = False
    diagnostic: str = ""


class Routing(BaseModel):
    """Where the mailbox the message came in through sends new cases."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: str | None = None
    queue: str | None = None
    group: str | None = None
    assignee: str | None = None
    priority: str | None = None


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
    auto_reason: str | None = Field(default=None, description="Why the message counts as automatic")
    html_sha256: str | None = Field(default=None, description="Sanitised HTML body in the blob store")
    reply_text: str | None = Field(default=None, description="The new text of a reply, without quotes")
    forwarded_text: str = Field(default="", description="Text of forwarded messages, for search")
    attachments: list[Attachment] = Field(default_factory=list)
    bounce: Bounce | None = None
    mailbox_id: str | None = None
    routing: Routing | None = None
    partner_reference: str | None = Field(
        default=None, description="An external case number found by the mailbox's partner pattern"
    )
    create_customer: bool = Field(default=True, description="Unknown senders become customers")
    trusted_headers: dict[str, str] = Field(
        default_factory=dict, description="X-Allsak-* headers, only from channels marked trusted"
    )


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
