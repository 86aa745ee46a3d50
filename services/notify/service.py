"""Use cases of notify: register mail in the database, send it from there, show what was sent.

Registering and sending are apart on purpose: the event handler only inserts a row (idempotent,
in the inbox's transaction); ``MailWorker`` sends rows that are due, with retries. A crash at
any point leaves a row that is sent later, so no mail is lost; a crash after the server took a
message and before it was marked sent sends it again, with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.notify import caps, compose, repository
from services.notify.models import FAILED, PENDING, SENT, SUPPRESSED, OutgoingMail
from services.notify.senders import DeliveryError, MailSender
from shared import logging as log_context
from shared import metrics
from shared.db import Database, UnitOfWork
from shared.events.cases import CaseCreated
from shared.events.notify import MailFailed, MailSent
from shared.waker import CommitWaker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailConfig:
    """What composing needs from the settings."""

    case_tag: str
    message_id_domain: str
    default_sender: str
    queue_senders: Mapping[str, str] = field(default_factory=dict)
    extra_own_addresses: Sequence[str] = ()
    auto_mail_cap: int = 10
    auto_mail_cap_window: timedelta = timedelta(minutes=10)

    @property
    def own_addresses(self) -> set[str]:
        """Our senders and the other addresses of ours: never acknowledged (a loop)."""
        addresses = [self.default_sender, *self.queue_senders.values(), *self.extra_own_addresses]
        return {a.addr_spec for a in map(compose.parse_address, addresses) if a is not None}


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 5.0
    max_seconds: float = 3600.0
    max_attempts: int = 10


async def register_acknowledgement(uow: UnitOfWork, *, event: CaseCreated, config: MailConfig) -> str | None:
    """A case created from a person's mail gets one acknowledgement, however often the event comes;
    over the per-recipient cap on automatic mail it is recorded as suppressed and not sent.

    Runs inside the caller's unit of work (the inbox commits it). Returns the new mail's id, or
    None when no mail was registered.
    """
    refusal = compose.acknowledgement_refusal(event, own_addresses=config.own_addresses)
    if refusal:
        logger.info("case %s: no acknowledgement: %s", event.number, refusal, extra={"case": event.number})
        return None
    now = uow.now()
    mail = compose.compose_acknowledgement(
        event,
        tag=config.case_tag,
        sender=compose.sender_for(event.queue, config.queue_senders, config.default_sender),
        domain=config.message_id_domain,
        now=now,
    )
    recipient = caps.recipient_key(mail.recipients[0])
    suppressed = await _over_cap(uow, recipient=recipient, config=config, now=now)
    mail_id = str(uow.db.ids())
    inserted = await repository.insert_once(
        uow.session,
        postgresql=uow.db.is_postgresql,
        values=dict(
            id=mail_id,
            kind=compose.ACKNOWLEDGEMENT,
            case_number=event.number,
            sender=mail.sender,
            recipients=mail.recipients,
            subject=mail.subject,
            rfc_message_id=mail.rfc_message_id,
            raw=mail.raw,
            status=SUPPRESSED if suppressed else PENDING,
            attempts=0,
            next_attempt_at=None if suppressed else now,
            created_at=now,
            correlation_id=log_context.correlation_id.get(),
            causation_id=log_context.causation_id.get(),
            auto_recipient=recipient,
            suppressed_reason=suppressed,
        ),
    )
    if not inserted:
        logger.info("case %s: acknowledgement already registered", event.number, extra={"case": event.number})
        return None
    if suppressed:
        logger.warning(
            "case %s: acknowledgement suppressed: %s", event.number, suppressed, extra={"case": event.number}
        )
        metrics.NOTIFY_SUPPRESSED.labels(compose.ACKNOWLEDGEMENT).inc()
    return mail_id


async def _over_cap(uow: UnitOfWork, *, recipient: str, config: MailConfig, now: datetime) -> str | None:
    """Why the cap stops one more automatic mail to ``recipient``, or None."""
    if uow.db.is_postgresql:
        # Competing consumers registering for one recipient take turns, so that both cannot
        # see room for one more mail; SQLite has one writer at a time anyway.
        await repository.lock_recipient(uow.session, recipient)
    earlier = await repository.automatic_mail_times(
        uow.session, recipient=recipient, since=now - config.auto_mail_cap_window, limit=config.auto_mail_cap
    )
    return caps.cap_refusal(
        recipient=recipient,
        earlier=earlier,
        now=now,
        cap=config.auto_mail_cap,
        window=config.auto_mail_cap_window,
    )


class MailWorker:
    """Sends due mail; wakes when a local transaction commits and polls for the rest."""

    def __init__(
        self,
        db: Database,
        sender: MailSender,
        *,
        retry: RetryPolicy,
        poll_seconds: float = 1.0,
        lease_seconds: float = 300.0,
        batch_size: int = 10,
    ) -> None:
        self.db = db
        self.sender = sender
        self.retry = retry
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.batch_size = batch_size
        self._waker = CommitWaker(db)

    async def run(self) -> None:
        while True:
            self._waker.clear()
            if await self.send_due() >= self.batch_size:
                continue
            await self._waker.wait(await self._idle_seconds())

    async def send_due(self) -> int:
        """Claim one batch of due mail and send it; return how many were claimed."""
        async with self.db.uow() as uow:
            now = uow.now()
            mails = await repository.claim_due(
                uow.session,
                now=now,
                lease_until=now + self.lease,
                limit=self.batch_size,
                skip_locked=self.db.is_postgresql,
            )
            await uow.commit(notify=False)
        # Sent side by side, so that a batch takes about one SMTP timeout, well inside the lease.
        await asyncio.gather(*(self._deliver(mail) for mail in mails))
        return len(mails)

    async def _idle_seconds(self) -> float:
        """Sleep until the next retry is due, but never longer than the poll interval."""
        async with self.db.sessions() as session:
            due = await repository.next_due_at(session)
        if due is None:
            return self.poll_seconds
        wait = (due - self.db.clock()).total_seconds()
        return min(max(wait, 0.01), self.poll_seconds)

    async def _deliver(self, mail: OutgoingMail) -> None:
        corr = log_context.correlation_id.set(mail.correlation_id)
        cause = log_context.causation_id.set(mail.causation_id)
        try:
            try:
                await self.sender.send(
                    raw=mail.raw,
                    sender=mail.sender,
                    recipients=mail.recipients,
                    message_id=mail.rfc_message_id,
                )
            except DeliveryError as exc:
                await self._failed(mail, exc)
            except Exception as exc:  # a bug in a backend must not strand the mail until the lease ends
                logger.exception("mail %s: sender %s crashed", mail.id, self.sender.name)
                await self._failed(mail, DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False))
            else:
                await self._sent(mail)
        finally:
            log_context.correlation_id.reset(corr)
            log_context.causation_id.reset(cause)

    async def _sent(self, mail: OutgoingMail) -> None:
        async with self.db.uow() as uow:
            now = uow.now()
            values = dict(status=SENT, sent_at=now, next_attempt_at=None)
            if not await repository.finish_attempt(
                uow.session, mail_id=mail.id, attempt=mail.attempts, values=values
            ):
                logger.warning("mail %s: sent, but another sender claimed it meanwhile", mail.id)
                return
            await uow.emit(
                MailSent(
                    mail_id=mail.id,
                    kind=mail.kind,
                    case_number=mail.case_number,
                    to=mail.recipients,
                    subject=mail.subject,
                    rfc_message_id=mail.rfc_message_id,
                    sent_at=now,
                )
            )
            await uow.commit()
        metrics.NOTIFY_SENT.labels(mail.kind).inc()
        logger.info(
            "mail %s (%s) sent by %s", mail.id, mail.kind, self.sender.name, extra={"case": mail.case_number}
        )

    async def _failed(self, mail: OutgoingMail, error: DeliveryError) -> None:
        """Retry with backoff until max attempts; tell the others once it is delayed and when it failed.

        ``notify.mail_failed.v1`` with ``permanent=False`` is emitted on the first failure only
        (the mail is delayed), with ``permanent=True`` when it is given up; further transient
        failures show only in the row (``attempts``, ``last_error``) and the metric.
        """
        metrics.NOTIFY_FAILED.labels(mail.kind).inc()
        outcome = compose.after_failure(
            attempts=mail.attempts, max_attempts=self.retry.max_attempts, permanent=error.permanent
        )
        async with self.db.uow() as uow:
            now = uow.now()
            values: dict[str, Any] = dict(last_error=error.reason[:2000])
            if outcome == "failed":
                values.update(status=FAILED, next_attempt_at=None)
            else:
                delay = compose.retry_delay(
                    mail.attempts, base_seconds=self.retry.base_seconds, max_seconds=self.retry.max_seconds
                )
                values.update(next_attempt_at=now + delay)
            if not await repository.finish_attempt(
                uow.session, mail_id=mail.id, attempt=mail.attempts, values=values
            ):
                logger.warning("mail %s: failed, but another sender claimed it meanwhile", mail.id)
                return
            if outcome == "failed" or mail.last_error is None:
                await uow.emit(
                    MailFailed(
                        mail_id=mail.id,
                        kind=mail.kind,
                        case_number=mail.case_number,
                        to=mail.recipients,
                        reason=error.reason[:1000],
                        permanent=outcome == "failed",
                        failed_at=now,
                    )
                )
            await uow.commit()
        logger.log(
            logging.ERROR if outcome == "failed" else logging.WARNING,
            "mail %s attempt %d failed (%s): %s",
            mail.id,
            mail.attempts,
            "giving up" if outcome == "failed" else "will retry",
            error.reason,
            extra={"case": mail.case_number},
        )


class InvalidCursor(ValueError):
    pass


def encode_cursor(mail: OutgoingMail) -> str:
    raw = json.dumps([mail.created_at.isoformat(), mail.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created_at, mail_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(created_at)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidCursor("invalid cursor") from exc
    if moment.tzinfo is None or not isinstance(mail_id, str):
        raise InvalidCursor("invalid cursor")
    return moment, mail_id


async def list_mail(
    db: Database, *, case_number: str | None, status: str | None, cursor: str | None, limit: int
) -> tuple[Sequence[OutgoingMail], str | None]:
    """Outgoing mail oldest first, one page at a time; the cursor names the next page."""
    after = decode_cursor(cursor) if cursor else None
    async with db.sessions() as session:
        mails = await repository.page(
            session, case_number=case_number, status=status, after=after, limit=limit + 1
        )
    more = len(mails) > limit
    mails = mails[:limit]
    return mails, encode_cursor(mails[-1]) if more and mails else None


async def get_mail(db: Database, mail_id: str) -> OutgoingMail | None:
    async with db.sessions() as session:
        return await repository.get(session, mail_id)
