"""HTTP models of ``/api/v1/mailboxes``. Secrets go in and never come out."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, SecretStr, model_validator


class ImapSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str = Field(min_length=1, max_length=320)
    auth: Literal["password", "xoauth2"] = "password"
    folder: str = Field(default="INBOX", min_length=1, max_length=200)
    processed_folder: str = Field(default="Allsak/Processed", min_length=1, max_length=200)
    idle: bool = Field(default=True, description="Use IDLE where the server has it; poll otherwise")
    poll_seconds: float = Field(default=60, ge=1, le=3600)


class RoutingSettings(BaseModel):
    """Where new cases from this mailbox go; unset fields fall back to the cases service's defaults."""

    model_config = ConfigDict(extra="forbid")

    type: str | None = Field(default=None, max_length=60)
    queue: str | None = Field(default=None, max_length=100)
    group: str | None = Field(default=None, max_length=100)
    assignee: str | None = Field(default=None, max_length=200)
    priority: Literal["low", "normal", "high", "critical"] | None = None


Channel = Literal["imap", "smtp", "webhook"]
UnknownSenders = Literal["create", "quarantine"]
AutomaticMail = Literal["register", "drop"]


def _check_pattern(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    if compiled.groups > 1:
        raise ValueError("use at most one capturing group: the external case number")
    return value


PartnerPattern = Annotated[str | None, Field(max_length=500), AfterValidator(_check_pattern)]


class MailboxFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trusted: bool = Field(default=False, description="Honour X-Allsak-* headers from this mailbox")
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    partner_pattern: PartnerPattern = Field(
        default=None, description="Regex finding an external case number in subject or body, e.g. 'INC\\d{7}'"
    )
    unknown_senders: UnknownSenders = Field(
        default="create", description="create: unknown senders become customers; quarantine: a person decides"
    )
    automatic_mail: AutomaticMail = Field(
        default="register",
        description="register: auto-replies and bulk mail are registered, flagged; drop: kept as a record only",
    )


class MailboxCreate(MailboxFields):
    name: str = Field(min_length=1, max_length=200)
    addresses: list[EmailStr] = Field(
        min_length=1, max_length=50, description="The first is the main address"
    )
    channel: Channel
    active: bool = True
    imap: ImapSettings | None = None
    secret: SecretStr | None = Field(default=None, description="IMAP password or XOAUTH2 token (write-only)")

    @model_validator(mode="after")
    def _imap_needs_settings(self) -> MailboxCreate:
        if self.channel == "imap" and (self.imap is None or self.secret is None):
            raise ValueError("an imap mailbox needs 'imap' settings and a 'secret'")
        if self.channel != "imap" and self.imap is not None:
            raise ValueError("'imap' settings belong to channel 'imap' only")
        return self


class MailboxUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    addresses: list[EmailStr] | None = Field(default=None, min_length=1, max_length=50)
    active: bool | None = None
    imap: ImapSettings | None = None
    secret: SecretStr | None = None
    trusted: bool | None = None
    routing: RoutingSettings | None = None
    partner_pattern: PartnerPattern = None
    unknown_senders: UnknownSenders | None = None
    automatic_mail: AutomaticMail | None = None


class MailboxRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    addresses: list[str]
    channel: str
    active: bool
    imap: ImapSettings | None
    has_secret: bool
    trusted: bool
    routing: RoutingSettings
    partner_pattern: str | None
    unknown_senders: str
    automatic_mail: str
    created_at: datetime
    updated_at: datetime


class MailboxList(BaseModel):
    items: list[MailboxRead]
    next_cursor: str | None = None
