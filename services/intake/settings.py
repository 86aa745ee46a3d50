from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from services.intake.domain import Limits
from services.intake.mailboxes.policies import LoopPolicy
from shared.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service: ClassVar[str] = "intake"

    database_url: str | None = Field(default=None, validation_alias="ALLSAK_INTAKE_DATABASE_URL")
    max_message_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1,
        validation_alias="ALLSAK_INTAKE_MAX_MESSAGE_BYTES",
        description="Larger messages are refused (413) before anything is stored",
    )
    max_parts: int = Field(default=500, ge=1, validation_alias="ALLSAK_INTAKE_MAX_PARTS")
    max_depth: int = Field(default=20, ge=1, validation_alias="ALLSAK_INTAKE_MAX_DEPTH")
    max_hops: int = Field(
        default=50,
        ge=1,
        validation_alias="ALLSAK_INTAKE_MAX_HOPS",
        description="More Received headers than this is taken for a mail loop",
    )
    max_body_chars: int = Field(
        default=100_000,
        ge=1,
        validation_alias="ALLSAK_INTAKE_MAX_BODY_CHARS",
        description="The text body on the bus is cut here; the raw message keeps all of it",
    )
    parse_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias="ALLSAK_INTAKE_PARSE_TIMEOUT_SECONDS"
    )
    imap_ca_file: str | None = Field(
        default=None,
        validation_alias="ALLSAK_INTAKE_IMAP_CA_FILE",
        description="PEM file of the CAs that IMAP servers' certificates must chain to; unset: the system's",
    )
    imap_refresh_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias="ALLSAK_INTAKE_IMAP_REFRESH_SECONDS",
        description="How often added, edited and deactivated IMAP mailboxes are picked up",
    )
    imap_lease_seconds: float = Field(
        default=60.0,
        ge=1,
        validation_alias="ALLSAK_INTAKE_IMAP_LEASE_SECONDS",
        description="One replica's hold on a mailbox, renewed every third of it; another takes over after it",
    )
    imap_idle_seconds: float = Field(
        default=25 * 60,
        gt=0,
        le=29 * 60,
        validation_alias="ALLSAK_INTAKE_IMAP_IDLE_SECONDS",
        description="IDLE is renewed at least this often (servers may end it after 30 minutes)",
    )
    imap_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        validation_alias="ALLSAK_INTAKE_IMAP_TIMEOUT_SECONDS",
        description="An IMAP server silent this long in the middle of a command is given up on",
    )
    imap_retry_seconds: float = Field(
        default=30.0,
        gt=0,
        validation_alias="ALLSAK_INTAKE_IMAP_RETRY_SECONDS",
        description="A fetched message that could not be stored is tried again after this",
    )
    smtp_listen: str | None = Field(
        default=None,
        validation_alias="ALLSAK_INTAKE_SMTP_LISTEN",
        description="host:port for the SMTP receiver (e.g. 127.0.0.1:2525); unset: no SMTP receiver",
    )
    lmtp_listen: str | None = Field(
        default=None,
        validation_alias="ALLSAK_INTAKE_LMTP_LISTEN",
        description="host:port for the LMTP receiver (an MTA delivering to us); unset: no LMTP receiver",
    )
    smtp_tls_cert: Path | None = Field(
        default=None,
        validation_alias="ALLSAK_INTAKE_SMTP_TLS_CERT",
        description="PEM certificate chain; with smtp_tls_key, SMTP and LMTP offer STARTTLS",
    )
    smtp_tls_key: Path | None = Field(default=None, validation_alias="ALLSAK_INTAKE_SMTP_TLS_KEY")

    # Same name and env (ALLSAK_MESSAGE_ID_DOMAIN) as notify's: a Message-ID of ours coming in is a loop.
    message_id_domain: str = Field(default="allsak.local", description="Right-hand side of our Message-IDs")
    sender_cap: int = Field(
        default=10,
        ge=1,
        validation_alias="ALLSAK_INTAKE_SENDER_CAP",
        description="More mails than this from one sender within the window are automatic",
    )
    sender_cap_minutes: float = Field(
        default=10,
        gt=0,
        validation_alias="ALLSAK_INTAKE_SENDER_CAP_MINUTES",
        description="The window of the per-sender cap",
    )

    @property
    def loops(self) -> LoopPolicy:
        return LoopPolicy(
            message_id_domain=self.message_id_domain,
            sender_cap=self.sender_cap,
            sender_cap_minutes=self.sender_cap_minutes,
        )

    @property
    def limits(self) -> Limits:
        return Limits(
            max_parts=self.max_parts,
            max_depth=self.max_depth,
            max_hops=self.max_hops,
            max_body_chars=self.max_body_chars,
        )
