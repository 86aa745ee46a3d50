"""Use cases of mail: thread an inbound mail, route a new case, take bounces, reject what is not ours.

Each runs inside the unit of work the inbox opened for the event; what it decides (a case, an
article, a ``cases.mail_rejected.v1``) commits with the inbox row, so a redelivery is a no-op.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from services.cases import repository, service
from services.cases.casetypes import headers
from services.cases.domain import bounces, routing, threading
from services.cases.domain.access import INTERNAL
from services.cases.domain.statuses import category_after_customer_mail
from services.cases.models import Case, CaseExternalRef, MessageRef
from services.cases.settings import Settings
from shared.db import UnitOfWork
from shared.events.cases import MailRejected, Person
from shared.events.intake import MessageReceived
from shared.events.notify import MailSent

logger = logging.getLogger(__name__)


async def register_mail(uow: UnitOfWork, *, settings: Settings, mail: MessageReceived) -> Case | None:
    """An inbound mail becomes exactly one of: a new case, an article on the case it threads to,
    a delivery-failure note (a bounce), or a rejection that intake acts on."""
    if mail.rfc_message_id and await _already_known(uow, mail, mail.rfc_message_id):
        return None
    if mail.bounce is not None:
        return await register_bounce(uow, mail=mail)
    decision = await thread(uow, settings=settings, mail=mail)
    if decision.case_number is not None:
        return await _append(uow, mail=mail, decision=decision)
    return await _new_case(uow, settings=settings, mail=mail, decision=decision)


async def thread(uow: UnitOfWork, *, settings: Settings, mail: MessageReceived) -> threading.ThreadDecision:
    """Which case the mail belongs to (tag, headers, partner reference), then the closed-case rule."""
    session = uow.session
    tagged = threading.tagged_numbers(mail.subject, settings.case_tag)
    referenced = threading.referenced_ids(mail.in_reply_to, mail.references)
    partner = [mail.partner_reference] if mail.partner_reference else []
    decision = threading.decide(
        subject=mail.subject,
        tag=settings.case_tag,
        existing_numbers=await repository.existing_numbers(session, tagged),
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        known_messages=await repository.known_messages(session, referenced),
        partner_reference=mail.partner_reference,
        known_references=await repository.cases_by_external_ref(
            session, source=external_source(mail), references=partner
        ),
    )
    if decision.case_number is None:
        return decision
    decision = threading.follow_merges(decision, await repository.merges_from(session, decision.case_number))
    assert decision.case_number is not None
    state = await repository.case_state(session, decision.case_number)
    if state is None:
        return decision
    return threading.after_close(
        decision,
        case=state,
        now=uow.now(),
        reopen_within=timedelta(days=settings.reopen_within_days),
        automatic=mail.auto_submitted,
    )


async def register_bounce(uow: UnitOfWork, *, mail: MessageReceived) -> Case | None:
    """A bounce of our mail is an internal note on that mail's case, never a case and never
    answered; a permanent failure marks the customer's address undeliverable."""
    assert mail.bounce is not None
    bounce = mail.bounce
    candidates = bounces.candidate_ids(bounce.original_message_id, mail.in_reply_to, mail.references)
    known = await repository.known_messages(uow.session, candidates)
    found = next((message_id for message_id in candidates if message_id in known), None)
    if found is None:
        detail = (
            f"bounce of {bounce.original_message_id or 'a mail it does not name'}: not a mail of any case"
        )
        await _reject(uow, mail, reason="bounce_unmatched", action="drop", detail=detail)
        return None
    original = known[found]
    facts = bounces.BounceFacts(
        recipients=bounce.recipients,
        action=bounce.action,
        status=bounce.status,
        permanent=bounce.permanent,
        diagnostic=bounce.diagnostic,
    )
    case = await service.get_case(uow, original.case_number, access=INTERNAL)
    await service.add_case_article(
        uow,
        case,
        kind="delivery_failure",
        internal=True,
        channel="mail",
        sender=Person(email=mail.sender_email, name=mail.sender_name),
        subject=mail.subject or "Delivery failure",
        body_text=bounces.delivery_failure_note(facts, concerning=f"{original.description} {found}"),
        source=mail,
        threaded_by=f"bounce of {found} = {original.description} of case {original.case_number}",
    )
    if bounces.marks_undeliverable(facts):
        await _mark_undeliverable(uow, facts)
    return case


async def record_sent_mail(uow: UnitOfWork, *, mail: MailSent) -> None:
    """Remember the Message-ID of mail we sent on a case, so that replies and bounces find it."""
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


async def _already_known(uow: UnitOfWork, mail: MessageReceived, message_id: str) -> bool:
    """The same mail taken twice (another channel, a poller retry) or our own sent mail coming
    back: one article is enough. Intake hears of it as dropped, unless it is the very message
    that made the article (a re-run), which keeps its case."""
    known = (await repository.known_messages(uow.session, [message_id])).get(message_id)
    if known is None:
        return False
    if await repository.intake_id_of_message(uow.session, message_id) != mail.id:
        detail = f"Message-ID {message_id} known already: {known.description} of case {known.case_number}"
        await _reject(uow, mail, reason="duplicate", action="drop", detail=detail)
    else:
        logger.info("mail %s already registered; ignored", message_id)
    return True


def external_source(mail: MessageReceived) -> str:
    """Partner references are per mailbox: two partners may well number their cases alike."""
    return f"mailbox:{mail.mailbox_id}" if mail.mailbox_id else "mail"


async def _append(uow: UnitOfWork, *, mail: MessageReceived, decision: threading.ThreadDecision) -> Case:
    assert decision.case_number is not None
    case = await service.get_case(uow, decision.case_number, access=INTERNAL)
    await service.add_case_article(
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
    await _remember_partner_reference(uow, case, mail)
    await _change_by_mail(uow, case, mail)
    return case


async def _change_by_mail(uow: UnitOfWork, case: Case, mail: MessageReceived) -> None:
    """A trusted mail's ``X-Allsak-Status`` and ``X-Allsak-Field-*`` headers change the case; a
    customer's mail (not an automatic one) wakes it up. Either goes through the case type's gate,
    and a refused change leaves the case as it was: the mail is on the case already."""
    asked = headers.case_changes(mail.trusted_headers)
    # An out-of-office answer is not the customer answering: the case keeps its status.
    wake = None if mail.auto_submitted else category_after_customer_mail(case.status_category)
    await service.change_if_allowed(uow, case, wake, asked, origin="mail", actor=mail.sender_email)


async def _new_case(
    uow: UnitOfWork, *, settings: Settings, mail: MessageReceived, decision: threading.ThreadDecision
) -> Case | None:
    address = await repository.customer_address(uow.session, mail.sender_email)
    if address is None and not mail.create_customer:
        detail = f"{mail.sender_email} is no known customer, and the mailbox creates none"
        await _reject(uow, mail, reason="unknown_sender", action="quarantine", detail=detail)
        return None
    route = _route(settings, mail)
    new = service.NewCase(
        subject=mail.subject,
        requester_email=mail.sender_email,
        requester_name=mail.sender_name,
        body_text=mail.text_body,
        channel="mail",
        queue=route.queue,
        type=route.type,
        priority=route.priority,
        assignee=route.assignee,
        group=route.group,
        follow_up_of=decision.follow_up_of,
        mailbox_id=mail.mailbox_id,
        fields=headers.case_fields(mail.trusted_headers),
    )
    case = await service.create_case(
        uow,
        settings=settings,
        new=new,
        source=mail,
        reason=decision.reason,
        suppress_auto_reply=address is not None and address.undeliverable_at is not None,
    )
    await _remember_partner_reference(uow, case, mail)
    return case


def _route(settings: Settings, mail: MessageReceived) -> routing.Route:
    defaults = routing.Route(
        type=settings.default_type, queue=settings.default_queue, priority=settings.default_priority
    )
    mailbox = routing.Route(**mail.routing.model_dump()) if mail.routing else None
    routed = routing.route(defaults=defaults, mailbox=mailbox, trusted_headers=mail.trusted_headers)
    for problem in routed.ignored:
        logger.warning(
            "mail %s: routing value ignored: %s", mail.id, problem, extra={"intake_message_id": mail.id}
        )
    return routed.route


async def _remember_partner_reference(uow: UnitOfWork, case: Case, mail: MessageReceived) -> None:
    """A partner reference names the case it first came with; later mails with it thread there."""
    reference = (mail.partner_reference or "").strip()[:200]
    if not reference:
        return
    source = external_source(mail)
    if await repository.cases_by_external_ref(uow.session, source=source, references=[reference]):
        return
    uow.session.add(
        CaseExternalRef(
            id=str(uow.db.ids()), case_id=case.id, reference=reference, source=source, created_at=uow.now()
        )
    )
    await uow.session.flush()


async def _mark_undeliverable(uow: UnitOfWork, facts: bounces.BounceFacts) -> None:
    now = uow.now()
    for recipient in facts.recipients:
        address = await repository.customer_address(uow.session, recipient)
        if address is None or address.undeliverable_at is not None:
            continue
        address.undeliverable_at = now
        address.undeliverable_reason = bounces.undeliverable_reason(facts)
        logger.info("address %s marked undeliverable: %s", address.email, address.undeliverable_reason)


async def _reject(uow: UnitOfWork, mail: MessageReceived, *, reason: str, action: str, detail: str) -> None:
    """No case from this mail: tell intake, which quarantines or keeps it as a record."""
    await uow.emit(
        MailRejected(
            intake_message_id=mail.id, reason=reason, action=action, detail=detail, rejected_at=uow.now()
        )
    )
    logger.info("mail %s rejected (%s, %s): %s", mail.id, reason, action, detail)
