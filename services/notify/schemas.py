"""HTTP models of notify."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

MailStatus = Literal["pending", "sent", "failed", "suppressed"]


class OutgoingMailRead(BaseModel):
    """One outgoing mail and how its delivery went."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    case_number: str | None
    sender: str
    to: list[str] = Field(validation_alias=AliasChoices("recipients", "to"))
    subject: str
    rfc_message_id: str
    status: MailStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When the next attempt is due, while pending")
    last_error: str | None
    suppressed_reason: str | None = Field(default=None, description="Why a suppressed mail was not sent")
    created_at: datetime
    sent_at: datetime | None


class OutgoingMailDetail(OutgoingMailRead):
    raw: str = Field(description="The message as sent (RFC 5322, CRLF line ends)")

    @field_validator("raw", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


class OutgoingMailPage(BaseModel):
    items: list[OutgoingMailRead]
    next_cursor: str | None
