"""Delivery backends behind one interface: SMTP when ``smtp_url`` is set, else a mail folder."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from shared.files import write_atomically

logger = logging.getLogger(__name__)

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._@+-]")


class DeliveryError(Exception):
    """A send failed; ``permanent`` when retrying the same message cannot help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class MailSender(Protocol):
    name: str

    async def send(self, *, raw: bytes, sender: str, recipients: list[str], message_id: str) -> None:
        """Hand the message over; raise DeliveryError when it was not accepted."""


@dataclass(frozen=True)
class SmtpConfig:
    hostname: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_tls: bool = False
    start_tls: bool = False

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """``smtp://`` plain, ``smtp+starttls://`` upgraded, ``smtps://`` TLS from the start."""
        parts = urlsplit(url)
        schemes = {
            "smtp": (25, False, False),
            "smtp+starttls": (587, False, True),
            "smtps": (465, True, False),
        }
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError("smtp_url must look like smtp://host:port, smtp+starttls://… or smtps://…")
        default_port, use_tls, start_tls = schemes[parts.scheme]
        return cls(
            hostname=parts.hostname,
            port=parts.port or default_port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=start_tls,
        )


class SmtpSender:
    name = "smtp"

    def __init__(self, config: SmtpConfig, *, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout

    async def send(self, *, raw: bytes, sender: str, recipients: list[str], message_id: str) -> None:
        c = self.config
        try:
            refused, _ = await aiosmtplib.send(
                raw,
                sender=sender,
                recipients=recipients,
                hostname=c.hostname,
                port=c.port,
                username=c.username,
                password=c.password,
                use_tls=c.use_tls,
                start_tls=c.start_tls,
                timeout=self.timeout,
            )
        except Exception as exc:
            raise classify(exc) from exc
        if refused:
            # Some recipients took it: a retry would send them a second copy, so it counts as sent.
            logger.warning(
                "smtp: %s refused by some recipients: %s",
                message_id,
                {rcpt: str(answer) for rcpt, answer in refused.items()},
            )


def classify(exc: BaseException) -> DeliveryError:
    """5xx answers to the message (sender, recipients, data) are permanent; the rest is retried.

    Connection errors, timeouts and 4xx answers are transient. So are authentication, greeting
    and EHLO refusals even with 5xx: they are the server's or our configuration's problem, not
    the message's, and an operator's fix should let the waiting mail go out.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        answers = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return DeliveryError(f"recipients refused: {answers}", permanent=permanent)
    session_level = (
        aiosmtplib.SMTPAuthenticationError,
        aiosmtplib.SMTPConnectError,
        aiosmtplib.SMTPHeloError,
    )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        permanent = 500 <= exc.code < 600 and not isinstance(exc, session_level)
        return DeliveryError(f"{exc.code} {exc.message}", permanent=permanent)
    return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)


class FolderSender:
    """Writes ``<dir>/<message id>.eml``; a re-send overwrites the same file."""

    name = "folder"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, message_id: str) -> Path:
        stem = _UNSAFE_FILENAME.sub("_", message_id.strip().strip("<>")) or "message"
        return self.directory / f"{stem}.eml"

    async def send(self, *, raw: bytes, sender: str, recipients: list[str], message_id: str) -> None:
        try:
            await asyncio.to_thread(write_atomically, self.path_for(message_id), raw)
        except OSError as exc:
            raise DeliveryError(f"cannot write mail file: {exc}", permanent=False) from exc


def build_sender(*, smtp_url: str | None, mail_dir: Path, timeout: float) -> MailSender:
    if smtp_url:
        return SmtpSender(SmtpConfig.from_url(smtp_url), timeout=timeout)
    return FolderSender(mail_dir)
