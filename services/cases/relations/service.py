"""Use cases of case relations: link, merge, register time, read the audit trail.

Each runs in the caller's unit of work; both cases of a link or a merge must be visible to the
caller, and a hidden case is not found, like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import repository, service
from services.cases.casetypes.gate import ChangeRefused
from services.cases.domain.access import Access
from services.cases.domain.statuses import Status
from services.cases.models import Article, Case, MessageRef
from services.cases.relations import audit
from services.cases.relations.models import AuditEntry, CaseLink, TimeEntry
from shared.db import UnitOfWork
from shared.events.cases import CaseMerged

# What a stored kind reads as from the other case of the link.
_REVERSE = {"related": "related", "parent": "child", "duplicate_of": "duplicated_by"}


class RelationConflict(Exception):
    """The request contradicts what is stored: a second link of a pair, a merge of a merged case."""


class InvalidRelation(ValueError):
    """A case cannot be linked to or merged into itself, nor merged where its type cannot close it."""


class LinkNotFound(LookupError):
    pass


@dataclass(frozen=True)
class LinkView:
    kind: str
    case: Case
    created_at: datetime


@dataclass(frozen=True)
class TimeSheet:
    entries: list[TimeEntry]
    minutes: int
    billable_minutes: int


async def _pair(uow: UnitOfWork, access: Access, number: int, other: int) -> tuple[Case, Case]:
    if number == other:
        raise InvalidRelation("a case cannot be related to itself")
    case = await service.get_case(uow, number, access=access)
    return case, await service.get_case(uow, other, access=access)


async def _link_between(session: AsyncSession, a: Case, b: Case) -> CaseLink | None:
    return await session.scalar(
        select(CaseLink).where(
            or_(
                (CaseLink.case_id == a.id) & (CaseLink.other_case_id == b.id),
                (CaseLink.case_id == b.id) & (CaseLink.other_case_id == a.id),
            )
        )
    )


async def link_cases(
    uow: UnitOfWork, *, access: Access, number: int, kind: str, other: int, actor: str | None
) -> LinkView:
    """Link two cases the caller sees; a pair of cases has at most one link, stored once
    (``child`` is stored as the other case's ``parent``)."""
    case, other_case = await _pair(uow, access, number, other)
    if await _link_between(uow.session, case, other_case) is not None:
        raise RelationConflict("the cases are linked already")
    source, target, stored = (other_case, case, "parent") if kind == "child" else (case, other_case, kind)
    link = CaseLink(
        id=str(uow.db.ids()),
        case_id=source.id,
        other_case_id=target.id,
        kind=stored,
        actor=actor,
        created_at=uow.now(),
    )
    uow.session.add(link)
    _record_link(uow, case, other_case, action="linked", kind=kind, actor=actor)
    await uow.session.flush()
    return LinkView(kind=kind, case=other_case, created_at=link.created_at)


async def unlink_cases(
    uow: UnitOfWork, *, access: Access, number: int, other: int, actor: str | None
) -> None:
    """Remove the link between two cases the caller sees, whichever side made it."""
    case, other_case = await _pair(uow, access, number, other)
    link = await _link_between(uow.session, case, other_case)
    if link is None:
        raise LinkNotFound(other)
    kind = link.kind if link.case_id == case.id else _REVERSE[link.kind]
    await uow.session.delete(link)
    _record_link(uow, case, other_case, action="unlinked", kind=kind, actor=actor)
    await uow.session.flush()


def _record_link(
    uow: UnitOfWork, case: Case, other: Case, *, action: str, kind: str, actor: str | None
) -> None:
    audit.record(uow, case, action=action, origin="user", actor=actor, field=kind, new=str(other.number))
    back = "child" if kind == "parent" else "parent" if kind == "child" else _REVERSE[kind]
    audit.record(uow, other, action=action, origin="user", actor=actor, field=back, new=str(case.number))


async def links_of(session: AsyncSession, *, access: Access, number: int) -> list[LinkView]:
    """The links of a case the caller sees, read from its side; linked cases out of the caller's
    sight are left out."""
    case = await repository.visible_case(session, number, access)
    if case is None:
        raise service.CaseNotFound(number)
    rows = await session.scalars(
        select(CaseLink)
        .where(or_(CaseLink.case_id == case.id, CaseLink.other_case_id == case.id))
        .order_by(CaseLink.created_at, CaseLink.id)
    )
    views = []
    for link in rows:
        mine = link.case_id == case.id
        other = await session.get(Case, link.other_case_id if mine else link.case_id)
        if other is not None and access.sees(other.queue):
            views.append(LinkView(link.kind if mine else _REVERSE[link.kind], other, link.created_at))
    return views


async def merge_case(uow: UnitOfWork, *, access: Access, number: int, into: int, actor: str | None) -> int:
    """Merge a case into a survivor, both seen by the caller: its articles follow the survivor's
    in their order, its Message-IDs move so that replies thread to the survivor, and it is
    closed with ``merged_into`` set. A merged case is merged once and receives no merges.
    Returns how many articles moved."""
    case, survivor = await _pair(uow, access, number, into)
    if case.merged_into is not None or survivor.merged_into is not None:
        raise RelationConflict("a merged case cannot be merged again or receive merges")
    now = uow.now()
    moved = await _move_articles(uow.session, case, survivor)
    await uow.session.execute(
        update(MessageRef).where(MessageRef.case_id == case.id).values(case_id=survivor.id)
    )
    link = await _link_between(uow.session, case, survivor)
    if link is not None:
        await uow.session.delete(link)
    uow.session.add(
        CaseLink(
            id=str(uow.db.ids()),
            case_id=case.id,
            other_case_id=survivor.id,
            kind="duplicate_of",
            actor=actor,
            created_at=now,
        )
    )
    survivor.updated_at = now
    await _close_as_duplicate(uow, case, survivor, actor=actor)
    audit.record(
        uow, case, action="merged", origin="user", actor=actor, field="into", new=str(survivor.number)
    )
    audit.record(
        uow, survivor, action="merged", origin="user", actor=actor, field="from", new=str(case.number)
    )
    await uow.session.flush()
    await uow.emit(
        CaseMerged(
            number=str(case.number),
            into=str(survivor.number),
            articles_moved=moved,
            merged_at=now,
            actor=actor,
        )
    )
    return moved


async def _close_as_duplicate(uow: UnitOfWork, case: Case, survivor: Case, *, actor: str | None) -> None:
    """Close the merged case in its type's first closed status it may go to. The case type's gate
    lets a merge close a case without its mandatory fields (the rule is in
    ``casetypes.changes``), but not past its transitions."""
    try:
        changes = {
            **await service.status_change_to(uow, case, Status.CLOSED.value),
            "merged_into": survivor.number,
        }
        await service.change_case(uow, case, changes, origin="user", actor=actor)
    except ChangeRefused as exc:
        raise InvalidRelation(f"case {case.number} cannot be closed as a duplicate: {exc.message}") from None


async def _move_articles(session: AsyncSession, case: Case, survivor: Case) -> int:
    """Renumber the merged case's articles after the survivor's, keeping their order."""
    seq = await repository.next_article_seq(session, survivor.id)
    articles = list(
        await session.scalars(
            select(Article).where(Article.case_id == case.id).order_by(Article.created_at, Article.seq)
        )
    )
    for offset, article in enumerate(articles):
        article.case_id = survivor.id
        article.seq = seq + offset
    return len(articles)


async def register_time(
    uow: UnitOfWork,
    *,
    access: Access,
    number: int,
    minutes: int,
    activity: str,
    billable: bool,
    agreement_id: str | None,
    note: str | None,
    worked_on: date | None,
    actor: str | None,
) -> TimeEntry:
    """Register minutes worked on a case the caller sees; the day defaults to today (UTC)."""
    case = await service.get_case(uow, number, access=access)
    now = uow.now()
    entry = TimeEntry(
        id=str(uow.db.ids()),
        case_id=case.id,
        minutes=minutes,
        activity=activity,
        billable=billable,
        agreement_id=agreement_id,
        note=note,
        worked_on=worked_on or now.date(),
        actor=actor,
        created_at=now,
    )
    uow.session.add(entry)
    new = {"time_entry_id": entry.id, "minutes": minutes, "billable": billable}
    audit.record(uow, case, action="time_registered", origin="user", actor=actor, new=new)
    await uow.session.flush()
    return entry


async def time_sheet(session: AsyncSession, *, access: Access, number: int) -> TimeSheet:
    """The time registered on a case the caller sees, with totals."""
    case = await repository.visible_case(session, number, access)
    if case is None:
        raise service.CaseNotFound(number)
    entries = list(
        await session.scalars(
            select(TimeEntry)
            .where(TimeEntry.case_id == case.id)
            .order_by(TimeEntry.worked_on, TimeEntry.created_at)
        )
    )
    return TimeSheet(
        entries=entries,
        minutes=sum(e.minutes for e in entries),
        billable_minutes=sum(e.minutes for e in entries if e.billable),
    )


async def audit_trail(
    session: AsyncSession, *, access: Access, number: int, before_id: int | None, limit: int
) -> list[AuditEntry]:
    """The trail of a case the caller sees, newest first; ``before_id`` is the previous page's cursor."""
    case = await repository.visible_case(session, number, access)
    if case is None:
        raise service.CaseNotFound(number)
    query = (
        select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.id.desc()).limit(limit)
    )
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(await session.scalars(query))
