"""Cases brought over from another desk (and the demo's months of history).

An old system hands a case over as it stands: when it was registered, its articles and its
status changes, each with its time. It is registered through the same service functions as a
new case (``create_case``, ``add_case_article``, ``change_case``), so the case type's gate, the
SLA clocks, the audit trail and the events all see it; only the clock is the case's own. One
unit of work carries the whole case, its ``now()`` moved along the history step by step: the
events carry the historic times (reports by day show the months), and a case is imported
whole or not at all.

The old system's number is kept as a ``case_external_ref`` with source ``import``; importing
the same number again finds that case instead of making another.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import repository, service
from services.cases.casetypes.gate import ChangeRefused
from services.cases.models import Case, CaseExternalRef
from services.cases.settings import Settings
from shared.db import Database, UnitOfWork
from shared.events.cases import Person

logger = logging.getLogger(__name__)

SOURCE = "import"
# Who wrote an article of each kind, when the old system did not say: the customer.
CUSTOMER_KINDS = frozenset({"mail_in", "web"})


Loc = tuple[str | int, ...]
# What a case type's refusal at registration may name besides custom fields.
CASE_ATTRIBUTES = frozenset({"type", "queue", "group", "assignee", "priority", "impact", "urgency"})


class InvalidImport(ValueError):
    """A case that cannot have happened as given; each error names where (``loc``, as in FastAPI's
    422s, within the body) and what to fix."""

    def __init__(self, loc: Loc, message: str, *more: tuple[Loc, str]) -> None:
        super().__init__(message)
        self.errors: list[tuple[Loc, str]] = [(loc, message), *more]


@dataclass(frozen=True)
class ImportedArticle:
    at: datetime
    kind: str
    body_text: str
    internal: bool
    sender: Person | None = None
    subject: str | None = None


@dataclass(frozen=True)
class ImportedChange:
    at: datetime
    status: str
    actor: str | None = None


Step = ImportedArticle | ImportedChange


@dataclass(frozen=True)
class ImportedCase:
    external_id: str
    created_at: datetime
    new: service.NewCase
    articles: Sequence[ImportedArticle] = field(default_factory=tuple)
    status_changes: Sequence[ImportedChange] = field(default_factory=tuple)


@dataclass(frozen=True)
class Imported:
    number: int
    status: str
    created_at: datetime
    created: bool

    @classmethod
    def of(cls, case: Case, *, created: bool) -> Imported:
        return cls(number=case.number, status=case.status, created_at=case.created_at, created=created)


def timeline(case: ImportedCase, *, now: datetime) -> list[Step]:
    """Articles and status changes in the order they happened, or ``InvalidImport`` naming the
    first time that is in the future, before the case was created, or before its predecessor.

    At the same instant an article comes before a status change (a solution, then resolved).
    """
    if case.created_at > now:
        raise InvalidImport(("created_at",), f"is in the future (now is {now.isoformat()})")
    _check_order("articles", case.articles, created_at=case.created_at, now=now)
    _check_order("status_changes", case.status_changes, created_at=case.created_at, now=now)
    steps: list[tuple[datetime, int, int, Step]] = [
        *((a.at, 0, i, a) for i, a in enumerate(case.articles)),
        *((c.at, 1, i, c) for i, c in enumerate(case.status_changes)),
    ]
    return [step for *_, step in sorted(steps, key=lambda s: s[:3])]


def _check_order(name: str, steps: Sequence[Step], *, created_at: datetime, now: datetime) -> None:
    previous = created_at
    for index, step in enumerate(steps):
        where = (name, index, "at")
        if step.at > now:
            raise InvalidImport(where, f"is in the future (now is {now.isoformat()})")
        if step.at < created_at:
            raise InvalidImport(where, "is before the case's created_at")
        if step.at < previous:
            raise InvalidImport(where, f"is before {name}[{index - 1}]: list them in the order they happened")
        previous = step.at


async def import_case(db: Database, *, settings: Settings, case: ImportedCase, actor: str | None) -> Imported:
    """Register an old case with its history at its own times; one already imported under the same
    external id is answered as it is, so an import can be run again after a failure."""
    steps = timeline(case, now=db.clock())
    try:
        async with db.uow(at=case.created_at) as uow:
            existing = await _imported(uow.session, case.external_id)
            if existing is not None:
                return existing
            await _check_queue(uow, case.new.queue)
            created = await _register(uow, settings, case, steps, actor=actor)
            await uow.commit()
    except IntegrityError:
        # Another import of the same external id committed first; its case is the answer.
        async with db.sessions() as session:
            existing = await _imported(session, case.external_id)
        if existing is None:
            raise
        return existing
    logger.info("case %s imported from %s", created.number, case.external_id, extra={"case": created.number})
    return Imported.of(created, created=True)


async def _register(
    uow: UnitOfWork, settings: Settings, case: ImportedCase, steps: list[Step], *, actor: str | None
) -> Case:
    # An imported case is history: its requester was answered long ago, so no acknowledgement.
    try:
        created = await service.create_case(uow, settings=settings, new=case.new, suppress_auto_reply=True)
    except ChangeRefused as exc:
        raise _refused_registration(exc) from None
    uow.session.add(
        CaseExternalRef(
            id=str(uow.db.ids()),
            case_id=created.id,
            reference=case.external_id,
            source=SOURCE,
            created_at=uow.now(),
        )
    )
    requester = Person(email=created.requester.email, name=created.requester.name)
    for index, step in enumerate(steps):
        uow.at = step.at
        if isinstance(step, ImportedArticle):
            await _add_article(uow, created, step, requester=requester, actor=actor)
        else:
            try:
                await service.change_case(
                    uow, created, {"status": step.status}, origin="integration", actor=step.actor or actor
                )
            except ChangeRefused as exc:
                raise InvalidImport(
                    ("status_changes", _index(steps, index), "status"), _refusal(exc)
                ) from None
    return created


async def _add_article(
    uow: UnitOfWork, case: Case, step: ImportedArticle, *, requester: Person, actor: str | None
) -> None:
    sender = step.sender or (requester if step.kind in CUSTOMER_KINDS else None)
    await service.add_case_article(
        uow,
        case,
        kind=step.kind,
        internal=step.internal,
        channel=case.channel,
        sender=sender,
        subject=step.subject or case.subject,
        body_text=step.body_text,
        source=None,
        threaded_by=None,
        now=step.at,
        actor=sender.email if sender else actor,
    )


def _refused_registration(exc: ChangeRefused) -> InvalidImport:
    """The case type's refusal of the new case, one error per missing field or wrong value."""
    errors: list[tuple[Loc, str]] = [
        ((p.field,) if p.field in CASE_ATTRIBUTES else ("fields", p.field), p.message) for p in exc.problems
    ]
    errors += [(("fields", f.key), f"{f.label} is mandatory at {f.mandatory_at}") for f in exc.fields]
    if not errors:
        errors = [(("type",), exc.message)]
    return InvalidImport(*errors[0], *errors[1:])


def _refusal(exc: ChangeRefused) -> str:
    missing = f"; missing: {', '.join(exc.missing)}" if exc.missing else ""
    allowed = f"; it may go to: {', '.join(exc.allowed)}" if exc.allowed else ""
    return f"{exc.message}{missing}{allowed}"


def _index(steps: list[Step], position: int) -> int:
    """The index of a status change among the status changes, from its place in the timeline."""
    return sum(1 for step in steps[:position] if isinstance(step, ImportedChange))


async def _imported(session: AsyncSession, external_id: str) -> Imported | None:
    number = (await repository.cases_by_external_ref(session, source=SOURCE, references=[external_id])).get(
        external_id
    )
    case = None if number is None else await repository.case_by_number(session, number)
    return None if case is None else Imported.of(case, created=False)


async def _check_queue(uow: UnitOfWork, queue: str | None) -> None:
    # A case in a queue nobody owns is seen by admins only: surely not what the importer meant.
    if queue is not None and await repository.queue_by_key(uow.session, queue) is None:
        raise InvalidImport(("queue",), f"no queue {queue!r}: create it first (POST /api/v1/queues)")
