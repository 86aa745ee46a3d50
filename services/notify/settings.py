from __future__ import annotations

import re
from email.headerregistry import Address
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.notify.compose import parse_address
from services.notify.senders import SmtpConfig
from shared.settings import BaseServiceSettings


def parse_mailbox(value: str) -> Address:
    """One ``Name <addr@domain>`` or ``addr@domain``; ValueError for anything else."""
    address = parse_address(value)
    if address is None:
        raise ValueError(f"not a single mail address: {value!r}")
    return address


class Settings(BaseServiceSettings):
    # smtp_url may hold a password: keep input values out of validation errors (and so out of logs).
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    service: ClassVar[str] = "notify"

    database_url: str | None = Field(default=None, validation_alias="ALLSAK_NOTIFY_DATABASE_URL")
    # Same name and env (ALLSAK_CASE_TAG) as the cases service: the tag in our subjects must be
    # the one intake and cases recognise when the customer replies.
    case_tag: str = Field(default="Sak", description="Word in the subject tag, as in [Sak#10023]")
    message_id_domain: str = Field(default="allsak.local", description="Right-hand side of our Message-IDs")
    default_sender: str = Field(
        default="Allsak <support@allsak.local>", description="From address when the queue has none"
    )
    queue_senders: dict[str, str] = Field(
        default_factory=dict, description='From address per queue, JSON: {"HR": "HR <hr@example.no>"}'
    )
    own_addresses: list[str] = Field(
        default_factory=list,
        description="More addresses of ours that must never be acknowledged (inbound mailboxes, aliases), "
        'JSON: ["post@example.no"]; the senders above count already',
    )
    auto_mail_cap: int = Field(
        default=10, ge=1, description="At most this many automatic mails per recipient in the window"
    )
    auto_mail_cap_minutes: float = Field(default=10.0, gt=0, description="The window of the cap, in minutes")
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://host:port, smtp+starttls://user:pass@host:587, smtps://user:pass@host:465; "
        "unset writes .eml files to <data_dir>/mail/sent",
    )
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    retry_base_seconds: float = Field(default=5.0, gt=0, description="First retry delay; doubles per attempt")
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    max_attempts: int = Field(default=10, ge=1, description="Attempts before a mail is marked failed")
    mail_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the sender looks for due mail when nothing woke it"
    )
    send_lease_seconds: float = Field(
        default=300.0, gt=0, description="A claimed mail is claimable again after this (sender crashed)"
    )

    @field_validator("default_sender")
    @classmethod
    def _one_sender(cls, value: str) -> str:
        parse_mailbox(value)
        return value

    @field_validator("queue_senders")
    @classmethod
    def _queue_senders(cls, value: dict[str, str]) -> dict[str, str]:
        for sender in value.values():
            parse_mailbox(sender)
        return value

    @field_validator("own_addresses")
    @classmethod
    def _own_addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            parse_mailbox(address)
        return value

    @field_validator("message_id_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", value):
            raise ValueError(f"not a domain name: {value!r}")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        SmtpConfig.from_url(value.get_secret_value())  # the URL may hold a password: kept secret
        return value
