"""Use cases of the cases service: each changes state and emits its events in one unit of work."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.cases import repository
from services.cases.domain import threading
from services.cases.domain.statuses import Status, status_after_customer_mail
from services.cases.models import Article, Case, Customer, MessageRef
from services.cases.settings import Settings
from shared import metrics
from shared.db import UnitOfWork
from shared.events.cases import ArticleAdded, CaseCreated, CaseUpdated, FieldChange, Person
from shared.events.intake import MessageReceived
from shared.events.notify import MailSent

logger = logging.getLogger(__name__)

MAX_EVENT_BODY = 20_000


class CaseNotFound(LookupError):
    pass


@dataclass(frozen=True)
class NewCase:
    subject: str
    requester_email: str
    requester_name: str | None = None
    body_text: str = ""
    channel: str = "api"
    queue: str | None = None
    type: str | None = None
    priority: str | None = None
    assignee: str | None = None


def case_number_text(case: Case) -> str:
    return str(case.number)


async def find_or_create_customer(uow: UnitOfWork, *, email: str, name: str | None) -> Customer:
    """Customers are found by address, case-insensitively; unknown senders become customers."""
    customer = await repository.customer_by_email(uow.session, email)
    if customer is None:
        customer = Customer(id=str(uow.db.ids()), email=email.lower(), name=name, created_at=uow.now())
        uow.session.add(customer)
        await uow.session.flush()
    elif name and not customer.name:
        customer.name = name
    return customer


async def create_case(
    uow: UnitOfWork,
    *,
    settings: Settings,
    new: NewCase,
    source: MessageReceived | None = None,
    reason: str | None = None,
) -> Case:
    """Register a case with its first article; a mail's Message-ID is remembered for threading."""
    now = uow.now()
    customer = await find_or_create_customer(uow, email=new.requester_email, name=new.requester_name)
    number = await repository.next_number(uow.session, name="case", first=settings.first_case_number)
    case = Case(
        id=str(uow.db.ids()),
        number=number,
        subject=new.subject.strip()[:500] or "(no subject)",
        status=Status.NEW.value,
        type=new.type or settings.default_type,
        queue=new.queue or settings.default_queue,
        priority=new.priority or settings.default_priority,
        channel=new.channel,
        requester_id=customer.id,
        requester=customer,
        assignee=new.assignee,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(case)
    await uow.session.flush()
    await uow.emit(
        CaseCreated(
            number=case_number_text(case),
            subject=case.subject,
            status=case.status,
            type=case.type,
            queue=case.queue,
            priority=case.priority,
            requester=Person(email=customer.email, name=customer.name),
            assignee=case.assignee,
            channel=case.channel,
            created_at=now,
            source_message_id=source.rfc_message_id if source else None,
            source_references=list(source.references) if source else [],
            suppress_auto_reply=bool(source and source.auto_submitted),
        )
    )
    metrics.CASES_CREATED.labels(case.channel).inc()
    kind = "mail_in" if source else ("phone" if new.channel == "phone" else "web")
    await _add_article(
        uow,
        case,
        now=now,
        kind=kind,
        internal=False,
        channel=new.channel,
        sender=Person(email=customer.email, name=new.requester_name or customer.name),
        subject=case.subject,
        body_text=new.body_text,
        source=source,
        threaded_by=reason,
    )
    return case


async def register_mail(uow: UnitOfWork, *, settings: Settings, mail: MessageReceived) -> Case | None:
    """An inbound mail becomes a new case, or an article on the case it threads to."""
    if mail.rfc_message_id and await repository.message_ref_exists(uow.session, mail.rfc_message_id):
        # The same mail taken twice (another channel, a poller retry): one article is enough.
        logger.info("mail %s already registered; ignored", mail.rfc_message_id)
        return None
    referenced = threading.referenced_ids(mail.in_reply_to, mail.references)
    decision = threading.decide(
        subject=mail.subject,
        tag=settings.case_tag,
        existing_numbers=await repository.existing_numbers(
            uow.session, threading.tagged_numbers(mail.subject, settings.case_tag)
        ),
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        known_messages=await repository.known_messages(uow.session, referenced),
    )
    if decision.case_number is None:
        new = NewCase(
            subject=mail.subject,
            requester_email=mail.sender_email,
            requester_name=mail.sender_name,
            body_text=mail.text_body,
            channel="mail",
        )
        return await create_case(uow, settings=settings, new=new, source=mail, reason=decision.reason)
    case = await _case(uow, decision.case_number)
    await _add_article(
        uow,
        case,
        kind="mail_in",
        internal=False,
        channel="mail",
        sender=Person(email=mail.sender_email, name=mail.sender_name),
        subject=mail.subject,
        body_text=mail.text_body,
        source=mail,
        threaded_by=decision.reason,
    )
    await _change(
        uow,
        case,
        {"status": status_after_customer_mail(Status(case.status)).value},
        origin="mail",
        actor=mail.sender_email,
    )
    return case


async def update_case(
    uow: UnitOfWork, *, number: int, changes: dict[str, Any], origin: str, actor: str | None
) -> Case:
    """Change status, priority, assignee or queue; every real change is one event with old and new."""
    case = await _case(uow, number)
    await _change(uow, case, changes, origin=origin, actor=actor)
    return case


async def add_article(
    uow: UnitOfWork,
    *,
    number: int,
    kind: str,
    body_text: str,
    subject: str | None,
    internal: bool,
    actor: str | None,
) -> Article:
    """An agent's public reply or internal note on a case."""
    case = await _case(uow, number)
    article = await _add_article(
        uow,
        case,
        kind=kind,
        internal=internal,
        channel="api",
        sender=Person(email=actor) if actor and "@" in actor else None,
        subject=subject or case.subject,
        body_text=body_text,
        source=None,
        threaded_by=None,
    )
    if kind == "reply" and case.status == Status.NEW.value:
        await _change(uow, case, {"status": Status.OPEN.value}, origin="user", actor=actor)
    return article


async def record_sent_mail(uow: UnitOfWork, *, mail: MailSent) -> None:
    """Remember the Message-ID of mail we sent on a case, so that replies to it thread there."""
    if not mail.case_number or await repository.message_ref_exists(uow.session, mail.rfc_message_id):
        return
    case = await repository.case_by_number(uow.session, int(mail.case_number))
    if case is None:
        logger.warning("mail %s names unknown case %s", mail.rfc_message_id, mail.case_number)
        return
    uow.session.add(
        MessageRef(
            rfc_message_id=mail.rfc_message_id,
            case_id=case.id,
            direction="out",
            description="acknowledgement" if mail.kind == "acknowledgement" else f"our {mail.kind}",
            created_at=uow.now(),
        )
    )


async def _case(uow: UnitOfWork, number: int) -> Case:
    case = await repository.case_by_number(uow.session, number)
    if case is None:
        raise CaseNotFound(number)
    return case


async def _add_article(
    uow: UnitOfWork,
    case: Case,
    *,
    kind: str,
    internal: bool,
    channel: str,
    sender: Person | None,
    subject: str,
    body_text: str,
    source: MessageReceived | None,
    threaded_by: str | None,
    now: datetime | None = None,
) -> Article:
    now = now or uow.now()
    article = Article(
        id=str(uow.db.ids()),
        seq=await repository.next_article_seq(uow.session, case.id),
        case_id=case.id,
        kind=kind,
        internal=internal,
        channel=channel,
        from_email=sender.email if sender else None,
        from_name=sender.name if sender else None,
        subject=subject[:500],
        body_text=body_text,
        rfc_message_id=source.rfc_message_id if source else None,
        intake_message_id=source.id if source else None,
        threaded_by=threaded_by,
        created_at=now,
    )
    uow.session.add(article)
    if source and source.rfc_message_id:
        uow.session.add(
            MessageRef(
                rfc_message_id=source.rfc_message_id,
                case_id=case.id,
                direction="in",
                description="a message received",
                created_at=now,
            )
        )
    case.updated_at = now
    await uow.session.flush()
    await uow.emit(
        ArticleAdded(
            number=case_number_text(case),
            article_id=article.id,
            kind=kind,
            internal=internal,
            sender=sender,
            subject=article.subject,
            body_text=body_text[:MAX_EVENT_BODY],
            channel=channel,
            threaded_by=threaded_by,
            rfc_message_id=article.rfc_message_id,
            created_at=now,
            intake_message_id=article.intake_message_id,
        )
    )
    return article


async def _change(
    uow: UnitOfWork, case: Case, changes: dict[str, Any], *, origin: str, actor: str | None
) -> None:
    diff = {
        field: FieldChange(old=getattr(case, field), new=value)
        for field, value in changes.items()
        if getattr(case, field) != value
    }
    if not diff:
        return
    now = uow.now()
    for field, change in diff.items():
        setattr(case, field, change.new)
    case.updated_at = now
    await uow.session.flush()
    await uow.emit(
        CaseUpdated(
            number=case_number_text(case),
            changes=diff,
            origin=origin,
            actor=actor,
            status=case.status,
            queue=case.queue,
            updated_at=now,
        )
    )
