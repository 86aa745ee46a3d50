"""Use cases of the cases service: each changes state and emits its events in one unit of work.

Mail has its own module (``services.cases.mail``): threading, routing, bounces and rejects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from services.cases import lifecycle, mail_parts, repository
from services.cases.casetypes import gate
from services.cases.casetypes.gate import ChangeRefused
from services.cases.domain.access import Access
from services.cases.domain.customers import normalise_address, organisation_for
from services.cases.domain.statuses import Status
from services.cases.models import Article, Case, Customer, CustomerAddress, MessageRef
from services.cases.relations import audit
from services.cases.settings import Settings
from shared import metrics
from shared.db import UnitOfWork
from shared.events.cases import ArticleAdded, CaseCreated, CaseUpdated, FieldChange, Person
from shared.events.intake import MessageReceived

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
    group: str | None = None
    follow_up_of: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    impact: str | None = None
    urgency: str | None = None
    template: str | None = None
    mailbox_id: str | None = None


def case_number_text(case: Case) -> str:
    return str(case.number)


async def find_or_create_customer(uow: UnitOfWork, *, email: str, name: str | None) -> Customer:
    """Customers are found by any of their addresses, case-insensitively; unknown senders become
    customers, in the organisation that lists their mail domain."""
    customer = await repository.customer_by_email(uow.session, email)
    if customer is None:
        try:
            async with uow.session.begin_nested():
                return await create_customer(uow, email=email, name=name)
        except IntegrityError:
            # Registered by another transaction at the same moment, which has committed (the
            # unique key made this one wait for it): that customer is the one.
            customer = await repository.customer_by_email(uow.session, email)
            if customer is None:
                raise
    if name and not customer.name:
        customer.name = name
    return customer


async def create_customer(uow: UnitOfWork, *, email: str, name: str | None) -> Customer:
    """A new customer with ``email`` as primary address (two creating the same address at once
    collide on its unique key: ``find_or_create_customer`` takes the winner)."""
    address = normalise_address(email)
    organisations = await repository.organisation_domains(uow.session)
    customer = Customer(
        id=str(uow.db.ids()),
        email=address,
        name=name,
        organisation_id=organisation_for(address, organisations),
        created_at=uow.now(),
    )
    uow.session.add(customer)
    await uow.session.flush()
    uow.session.add(CustomerAddress(email=address, customer_id=customer.id, created_at=customer.created_at))
    await uow.session.flush()
    return customer


async def create_case(
    uow: UnitOfWork,
    *,
    settings: Settings,
    new: NewCase,
    source: MessageReceived | None = None,
    reason: str | None = None,
    suppress_auto_reply: bool = False,
) -> Case:
    """Register a case with its first article; a mail's Message-ID is remembered for threading.

    The case type completes it (and refuses it for a missing or wrong field, except from mail).
    ``CaseCreated.requester`` carries the address the case came from (an alias, perhaps): the
    acknowledgement goes where the customer wrote from.
    """
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
        group=new.group,
        follow_up_of=new.follow_up_of,
        status_category=Status.NEW.value,
        # The values given, as routing rules see them; the case type coerces them when it completes.
        fields=dict(new.fields),
        impact=new.impact,
        urgency=new.urgency,
        template=new.template,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(case)
    await lifecycle.registering(
        uow,
        case,
        lifecycle.Registration(
            channel=new.channel,
            requester_email=normalise_address(new.requester_email),
            organisation_id=customer.organisation_id,
            mailbox_id=new.mailbox_id,
            body_text=new.body_text,
            values=new.fields,
            enforce_create_gate=source is None,
        ),
    )
    if new.priority is not None and source is None:
        await gate.check_given_priority(uow, case)
    await uow.session.flush()
    await uow.emit(
        CaseCreated(
            number=case_number_text(case),
            subject=case.subject,
            status=case.status,
            status_category=case.status_category,
            type=case.type,
            queue=case.queue,
            priority=case.priority,
            requester=Person(email=normalise_address(new.requester_email), name=customer.name),
            assignee=case.assignee,
            channel=case.channel,
            created_at=now,
            source_message_id=source.rfc_message_id if source else None,
            source_references=list(source.references) if source else [],
            suppress_auto_reply=suppress_auto_reply or bool(source and source.auto_submitted),
        )
    )
    metrics.CASES_CREATED.labels(case.channel).inc()
    kind = "mail_in" if source or new.channel == "mail" else ("phone" if new.channel == "phone" else "web")
    await add_case_article(
        uow,
        case,
        now=now,
        kind=kind,
        internal=False,
        channel=new.channel,
        sender=Person(email=normalise_address(new.requester_email), name=new.requester_name or customer.name),
        subject=case.subject,
        body_text=new.body_text,
        source=source,
        threaded_by=reason,
    )
    return case


async def update_case(
    uow: UnitOfWork,
    *,
    access: Access,
    number: int,
    changes: dict[str, Any],
    origin: str,
    actor: str | None,
) -> Case:
    """Change a case the caller sees, through the case type's gate; every real change is one
    event with old and new. Moving a case to another queue may take it out of their sight."""
    case = await get_case(uow, number, access=access)
    await change_case(uow, case, changes, origin=origin, actor=actor)
    return case


async def add_article(
    uow: UnitOfWork,
    *,
    access: Access,
    number: int,
    kind: str,
    body_text: str,
    subject: str | None,
    internal: bool,
    actor: str | None,
) -> Article:
    """An agent's public reply or internal note on a case they see."""
    case = await get_case(uow, number, access=access)
    article = await add_case_article(
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
        actor=actor,
    )
    if kind == "reply" and case.status_category == Status.NEW.value:
        await change_if_allowed(uow, case, Status.OPEN.value, {}, origin="user", actor=actor)
    return article


async def status_change_to(uow: UnitOfWork, case: Case, category: str) -> dict[str, Any]:
    """An automatic move to ``category`` (a customer's mail, the first reply, a merge): the case
    type's first status of it that the case may change to; {} when the case is in it already."""
    if case.status_category == category:
        return {}
    status = await gate.first_status(uow, case, category)
    if status is None:
        raise ChangeRefused(
            f"case type {case.type!r} allows no status of category {category!r} after {case.status!r}"
        )
    return {"status": status}


async def change_if_allowed(
    uow: UnitOfWork,
    case: Case,
    category: str | None,
    changes: dict[str, Any],
    *,
    origin: str,
    actor: str | None,
) -> bool:
    """A change that something else caused (an article) and must not undo: ``changes`` plus a
    move to ``category`` where none is asked for. If the case type refuses it, the case stays as
    it is, and its audit trail says what was refused and why."""
    wanted = dict(changes)
    try:
        if category is not None and "status" not in wanted:
            wanted.update(await status_change_to(uow, case, category))
        if wanted:
            await change_case(uow, case, wanted, origin=origin, actor=actor)
    except ChangeRefused as exc:
        refused = {"changes": wanted, "reason": exc.message, "missing": exc.missing}
        audit.record(uow, case, action="change_refused", origin=origin, actor=actor, new=refused)
        logger.info("case %s: %s change refused: %s", case.number, origin, exc.message)
        return False
    return True


async def get_case(uow: UnitOfWork, number: int, *, access: Access) -> Case:
    """The case, if ``access`` sees it: a hidden case is not found, like one that does not exist."""
    case = await repository.visible_case(uow.session, number, access)
    if case is None:
        raise CaseNotFound(number)
    return case


async def add_case_article(
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
    actor: str | None = None,
) -> Article:
    """Add an article; from mail it keeps the reply text, HTML and attachments by reference."""
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
        reply_text=source.reply_text if source else None,
        html_sha256=source.html_sha256 if source else None,
        attachments=[a.model_dump() for a in source.attachments] if source and source.attachments else None,
        search_text=mail_parts.search_text(source),
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
                intake_message_id=source.id,
                created_at=now,
            )
        )
    case.updated_at = now
    await uow.session.flush()
    uow.session.add_all(mail_parts.article_blobs(article.id, source))
    await lifecycle.article_added(uow, case, article)
    audit.record(
        uow,
        case,
        action="article_added",
        origin="mail" if source else "user",
        actor=actor or (sender.email if sender else None),
        new={"article_id": article.id, "kind": kind, "internal": internal},
    )
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


async def change_case(
    uow: UnitOfWork, case: Case, changes: dict[str, Any], *, origin: str, actor: str | None
) -> None:
    """The one way a case changes: the case type checks the change first (raising
    ``ChangeRefused``), the SLA clocks follow it after. A custom field's change reads
    ``fields.<key>`` (old → new) in the audit trail, the event and for the clocks."""
    changes = await lifecycle.changing(uow, case, changes, origin=origin)
    diff = {
        field: FieldChange(old=getattr(case, field), new=value)
        for field, value in changes.items()
        if getattr(case, field) != value
    }
    if not diff:
        return
    now = uow.now()
    for name, change in diff.items():
        setattr(case, name, change.new)
    if "status" in diff or "status_category" in diff:
        case.closed_at = now if case.status_category == Status.CLOSED.value else None
    case.updated_at = now
    shown = _per_field(diff)
    audit.record_changes(uow, case, shown, origin=origin, actor=actor)
    await lifecycle.changed(uow, case, shown)
    await uow.session.flush()
    await uow.emit(
        CaseUpdated(
            number=case_number_text(case),
            changes=shown,
            origin=origin,
            actor=actor,
            status=case.status,
            status_category=case.status_category,
            queue=case.queue,
            updated_at=now,
        )
    )


def _per_field(diff: dict[str, FieldChange]) -> dict[str, FieldChange]:
    """The diff with the custom fields' one entry split into ``fields.<key>`` entries."""
    if "fields" not in diff:
        return diff
    shown = {name: change for name, change in diff.items() if name != "fields"}
    old, new = diff["fields"].old or {}, diff["fields"].new or {}
    for key in [*old, *(k for k in new if k not in old)]:
        if old.get(key) != new.get(key):
            shown[f"fields.{key}"] = FieldChange(old=old.get(key), new=new.get(key))
    return shown
