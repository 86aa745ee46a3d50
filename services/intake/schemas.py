"""HTTP models of the intake API, and its opaque page cursor."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from services.intake.domain import MessageState
from services.intake.models import Quarantine
from services.intake.service import MessageView, Receipt

API_PREFIX = "/api/v1/intake"


class ReceiptRead(BaseModel):
    """The answer to a posted message: intake has it stored, and what it became."""

    id: str = Field(description="Intake's message id; GET /api/v1/intake/messages/{id} follows it")
    status: str = Field(description="received, quarantined or dropped (kept as a record only)")
    duplicate: bool = Field(default=False, description="These exact bytes were posted before; nothing new")
    quarantine_id: str | None = None
    reason: str | None = None

    @classmethod
    def of(cls, receipt: Receipt) -> ReceiptRead:
        return cls(
            id=receipt.message_id,
            status=receipt.state,
            duplicate=receipt.duplicate,
            quarantine_id=receipt.quarantine_id,
            reason=receipt.reason,
        )


class HeaderRead(BaseModel):
    name: str
    value: str


class QuarantineRead(BaseModel):
    id: str
    message_id: str
    reason: str
    detail: str
    raw_sha256: str
    created_at: AwareDatetime
    resolved_at: AwareDatetime | None
    resolution: str | None = Field(description="retried or discarded once resolved")
    raw_url: str

    @classmethod
    def of(cls, entry: Quarantine) -> QuarantineRead:
        return cls.model_validate(_quarantine_fields(entry))


class QuarantineDetail(QuarantineRead):
    headers: list[HeaderRead] = Field(description="The header fields, as far as they could be read")

    @classmethod
    def of(cls, entry: Quarantine) -> QuarantineDetail:
        headers = [{"name": name, "value": value} for name, value in entry.headers]
        return cls.model_validate({**_quarantine_fields(entry), "headers": headers})


def _quarantine_fields(entry: Quarantine) -> dict[str, object]:
    return {
        "id": entry.id,
        "message_id": entry.message_id,
        "reason": entry.reason,
        "detail": entry.detail,
        "raw_sha256": entry.raw_sha256,
        "created_at": entry.created_at,
        "resolved_at": entry.resolved_at,
        "resolution": entry.resolution,
        "raw_url": f"{API_PREFIX}/quarantine/{entry.id}/raw",
    }


class QuarantinePageRead(BaseModel):
    items: list[QuarantineRead]
    next_cursor: str | None


class CaseRef(BaseModel):
    """The case a message became, as the cases service reported it."""

    number: str
    article_id: str
    threaded_by: str | None = Field(description="Why the mail joined that case (or made a new one)")


class MessageRead(BaseModel):
    """What became of a stored message."""

    id: str
    status: str = Field(
        description="in_progress (received, no article yet), case, quarantined, dropped or discarded"
    )
    state: str = Field(description="The stored state: received, quarantined, discarded or dropped")
    reason: str | None = Field(
        default=None, description="Why it is quarantined (the reason) or dropped (in words)"
    )
    channel: str
    mailbox: str | None
    mailbox_id: str | None = None
    received_at: AwareDatetime
    raw_sha256: str
    size: int
    sender_email: str | None
    sender_name: str | None
    subject: str | None
    rfc_message_id: str | None
    auto_reason: str | None = Field(default=None, description="Why it counts as automatic mail")
    case: CaseRef | None
    quarantine: QuarantineRead | None

    @classmethod
    def of(cls, view: MessageView) -> MessageRead:
        message, entry = view.message, view.quarantine
        waiting = entry is not None and entry.resolved_at is None
        case = None
        if message.case_number and message.article_id:
            case = CaseRef(
                number=message.case_number, article_id=message.article_id, threaded_by=message.threaded_by
            )
        return cls(
            id=message.id,
            status=fate(message.state, has_case=case is not None),
            state=message.state,
            reason=entry.reason if entry and waiting else message.drop_reason,
            channel=message.channel,
            mailbox=message.mailbox,
            mailbox_id=message.mailbox_id,
            received_at=message.received_at,
            raw_sha256=message.raw_sha256,
            size=message.size,
            sender_email=message.sender_email,
            sender_name=message.sender_name,
            subject=message.subject,
            rfc_message_id=message.rfc_message_id,
            auto_reason=message.auto_reason,
            case=case,
            quarantine=QuarantineRead.of(entry) if entry else None,
        )


def fate(state: str, *, has_case: bool) -> str:
    """A case is the end of the road whatever happened before; a received message without one
    is still in progress (the cases service has not answered yet)."""
    if has_case:
        return "case"
    return "in_progress" if state == MessageState.RECEIVED else state


class InvalidCursor(ValueError):
    pass


def encode_cursor(after: tuple[datetime, str] | None) -> str | None:
    if after is None:
        return None
    created_at, last_id = after
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{last_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        stamp, _, last_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        created_at = datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidCursor("invalid cursor") from None
    if created_at.tzinfo is None or not last_id:
        raise InvalidCursor("invalid cursor")
    return created_at, last_id
