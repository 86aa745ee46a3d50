"""SMTP and LMTP intake: which recipients we take mail for, and when a message counts as taken.

Rules:
- RCPT TO is accepted only for an address of an active mailbox with channel ``smtp`` (LMTP
  uses the same mailboxes: it is how a local MTA hands such mail over). Mail for an IMAP or
  webhook mailbox arrives through that channel; taking it here too would register it twice.
- ``250`` after DATA means the raw bytes are in the blob store and the message (or its
  quarantine) is committed: the answer waits for ``receive_message``. Any failure on the way
  is ``451``, a temporary error the sender retries; the retried bytes are the same, so a
  message that did commit before the failure is answered as a duplicate, not stored twice.
- The bytes are stored exactly as received (no Received header is added), one DATA one message.
  A lone LF never ends DATA: aiosmtpd (>= 1.4.6) reads lines up to CRLF, so ``\\n.\\n`` is
  content, not a message boundary (SMTP smuggling).
- LMTP answers once per accepted recipient; the message is still stored once, so every
  recipient gets the same answer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, AnyStr, cast

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.intake import service
from services.intake.domain import Limits
from services.intake.mailboxes import routing
from services.intake.mailboxes import service as mailboxes
from services.intake.mailboxes.policies import LoopPolicy
from shared.blobs import BlobStore
from shared.db import Database

logger = logging.getLogger(__name__)

MAILBOX_CHANNEL = "smtp"
MAX_RECIPIENTS = 100  # RFC 5321 4.5.3.1.8: at least 100 must be accepted

OK_RECIPIENT = "250 2.1.5 recipient ok"
UNKNOWN_MAILBOX = "550 5.1.1 mailbox unknown"
TOO_MANY_RECIPIENTS = "452 4.5.3 too many recipients"
LOOKUP_FAILED = "451 4.3.0 temporarily unable to look up the recipient, try again later"
STORE_FAILED = "451 4.3.0 temporarily unable to store, try again later"
TOO_LARGE = "552 5.3.4 message too large"
EMPTY = "554 5.6.0 the message is empty"

# aiosmtpd's own replies, answered in our words. After DATA an LMTP server must answer once
# per recipient, also when aiosmtpd refuses the data itself (too large, line too long).
_REWORDED = {
    "552 Error: Too much mail data": TOO_LARGE,
    "552 Error: message size exceeds fixed maximum message size": TOO_LARGE,
}
_REFUSED_DATA = {TOO_LARGE, "500 Line too long (see RFC5321 4.5.3.1.6)"}


class IntakeEnvelope(Envelope):
    """aiosmtpd's envelope plus the mailbox each accepted recipient belongs to."""

    def __init__(self) -> None:
        super().__init__()
        self.mailboxes: list[routing.MailboxConfig] = []


@dataclass
class IntakeHandler:
    """aiosmtpd handler: RCPT against the mailboxes, DATA into ``receive_message``."""

    db: Database
    blobs: BlobStore
    limits: Limits
    timeout: float
    loops: LoopPolicy
    channel: str = "smtp"
    per_recipient: bool = False
    storing: int = field(default=0, init=False)
    idle: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def __post_init__(self) -> None:
        self.idle.set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return TOO_MANY_RECIPIENTS
        try:
            mailbox = routing.resolve(
                await mailboxes.active_configs(self.db, channel=MAILBOX_CHANNEL), envelope=[address]
            )
        except Exception:
            logger.exception("%s: looking up recipient %s failed", self.channel, address)
            return LOOKUP_FAILED
        if mailbox is None:
            logger.info("%s: refused recipient %s from %s", self.channel, address, session.peer)
            return UNKNOWN_MAILBOX
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        cast(IntakeEnvelope, envelope).mailboxes.append(mailbox)
        return OK_RECIPIENT

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        recipients = list(envelope.rcpt_tos)
        if not raw:
            return self._answer(EMPTY, recipients)
        self.storing += 1
        self.idle.clear()
        try:
            receipt = await self._store(raw, cast(IntakeEnvelope, envelope))
        except Exception:
            # Nothing is announced unless its unit of work committed; the sender will retry.
            logger.exception(
                "%s: storing a message from %s failed; answered 451",
                self.channel,
                session.peer,
                extra={"channel": self.channel},
            )
            return self._answer(STORE_FAILED, recipients)
        finally:
            self.storing -= 1
            if not self.storing:
                self.idle.set()
        logger.info(
            "%s: message %s stored for %s%s",
            self.channel,
            receipt.message_id,
            ", ".join(recipients),
            " (duplicate)" if receipt.duplicate else "",
            extra={"message_id": receipt.message_id, "channel": self.channel},
        )
        return self._answer(f"250 2.0.0 stored as {receipt.message_id}", recipients)

    async def _store(self, raw: bytes, envelope: IntakeEnvelope) -> service.Receipt:
        # One message for all recipients: the first one's mailbox is the one it came in through.
        return await service.receive_message(
            self.db,
            self.blobs,
            raw=raw,
            channel=self.channel,
            limits=self.limits,
            timeout=self.timeout,
            mailbox_id=envelope.mailboxes[0].id,
            envelope=list(envelope.rcpt_tos),
            loops=self.loops,
        )

    def _answer(self, reply: str, recipients: list[str]) -> str:
        if not self.per_recipient:
            return reply
        return "\r\n".join(_for_recipient(reply, rcpt) for rcpt in recipients)


def _for_recipient(reply: str, recipient: str) -> str:
    code, _, text = reply.partition(" ")
    return f"{code} {text} <{recipient}>"


class IntakeSMTP(SMTP):
    """aiosmtpd's SMTP with intake's envelope and replies."""

    # RFC 5321 caps lines at 1000 octets, but real mail breaks that; refusing it (500) would
    # bounce a message we can store byte for byte. The size limit still bounds the whole.
    line_length_limit = 64 * 1024

    def _create_envelope(self) -> IntakeEnvelope:
        return IntakeEnvelope()

    async def push(self, status: AnyStr) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        reply: Any = _REWORDED.get(text, status)
        await super().push(reply)


class IntakeLMTP(IntakeSMTP, LMTP):
    """aiosmtpd's LMTP with intake's envelope and replies: one reply per recipient after DATA."""

    async def push(self, status: AnyStr) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        text = _REWORDED.get(text, text)
        if text in _REFUSED_DATA and self.envelope is not None and self.envelope.rcpt_tos:
            text = "\r\n".join(_for_recipient(text, rcpt) for rcpt in self.envelope.rcpt_tos)
        await super().push(text)
