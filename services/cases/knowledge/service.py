"""Use cases of knowledge; each reads in one session or changes state in one unit of work.

Nothing here emits an event yet: no other service consumes knowledge. The first consumer (a
reporting KPI, a search index) adds ``cases.kb_article_*`` events through the outbox here.
A unit of work commits also when nothing changed: a rollback would expire what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from services.cases.domain.statuses import DONE
from services.cases.knowledge import domain, repository
from services.cases.knowledge.domain import InvalidInput, KbStatus, Visibility
from services.cases.knowledge.models import (
    InfoBoardEntry,
    InfoBoardEntryOrganisation,
    KbArticle,
    KbArticleTag,
    StandardSolution,
)
from services.cases.knowledge.repository import Page
from services.cases.knowledge.schemas import (
    InfoBoardEntryCreate,
    KbArticleCreate,
    PromoteSolution,
    StandardSolutionCreate,
)
from shared.db import Database, UnitOfWork

DONE_STATUSES = frozenset(s.value for s in DONE)


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    """The request is fine but the state of things forbids it (HTTP 409)."""


class VersionMismatch(ValueError):
    """The caller edited an older version than the stored one (HTTP 412)."""


# ---- KB articles ----


async def list_kb_articles(
    db: Database, *, selection: domain.KbSelection, cursor: str | None, limit: int
) -> Page[KbArticle]:
    async with db.sessions() as session:
        return await repository.list_kb_articles(session, selection, cursor=cursor, limit=limit)


async def list_faq(
    db: Database, *, lang: str | None, category: str | None, cursor: str | None, limit: int
) -> Page[KbArticle]:
    """The FAQ: published public articles, by category and title."""
    selection = domain.faq_selection(lang=lang, category=category)
    async with db.sessions() as session:
        return await repository.list_faq(session, selection, cursor=cursor, limit=limit)


async def get_kb_article(db: Database, *, kb_article_id: str, visibilities: Collection[str]) -> KbArticle:
    """An article the caller may not see is not found, rather than forbidden: no hint it exists."""
    async with db.sessions() as session:
        article = await repository.kb_article(session, kb_article_id)
    if article is None or article.visibility not in visibilities:
        raise NotFound("knowledge article not found")
    return article


async def create_kb_article(db: Database, *, new: KbArticleCreate, author: str | None) -> KbArticle:
    """A new article is a draft, version 1, its HTML sanitised."""
    async with db.uow() as uow:
        article = _new_kb_article(
            uow,
            title=new.title,
            body_html=new.body_html,
            lang=new.lang,
            visibility=new.visibility,
            category=new.category,
            tags=new.tags,
            author=author,
        )
        await uow.commit()
    return article


async def update_kb_article(
    db: Database, *, kb_article_id: str, changes: dict[str, Any], expected_version: int | None
) -> KbArticle:
    """Edit in any status; a real change counts one version. ``expected_version`` (If-Match)
    refuses to overwrite someone else's edit."""
    async with db.uow() as uow:
        article = await _kb_article(uow, kb_article_id)
        if expected_version is not None and expected_version != article.version:
            raise VersionMismatch(
                f"the article is at version {article.version}, not {expected_version}: reload it and edit again"
            )
        changed = False
        if "body_html" in changes:
            body_html = domain.sanitise(changes.pop("body_html"))
            changes.update(body_html=body_html, body_text=domain.html_to_text(body_html))
        if "tags" in changes:
            changed = _replace_tags(article, changes.pop("tags"))
        changed = _assign(article, changes) or changed
        if changed:
            article.version += 1
            article.updated_at = uow.now()
        await uow.commit()
    return article


async def publish_kb_article(db: Database, *, kb_article_id: str) -> KbArticle:
    """A draft or archived article becomes published (again); publishing twice changes nothing."""
    async with db.uow() as uow:
        article = await _kb_article(uow, kb_article_id)
        if article.status != KbStatus.PUBLISHED:
            refusal = domain.publish_refusal(title=article.title, body_text=article.body_text)
            if refusal:
                raise Conflict(refusal)
            now = uow.now()
            article.status, article.published_at, article.updated_at = KbStatus.PUBLISHED.value, now, now
        await uow.commit()
    return article


async def archive_kb_article(db: Database, *, kb_article_id: str) -> KbArticle:
    """An archived article leaves the FAQ and lists that ask for published ones; it is kept."""
    async with db.uow() as uow:
        article = await _kb_article(uow, kb_article_id)
        if article.status != KbStatus.ARCHIVED:
            article.status, article.updated_at = KbStatus.ARCHIVED.value, uow.now()
        await uow.commit()
    return article


async def promote_solution(
    db: Database,
    *,
    number: int,
    options: PromoteSolution,
    author: str | None,
    sees_queue: Callable[[str], bool],
) -> tuple[KbArticle, bool]:
    """A resolved or closed case's last public reply becomes an internal KB draft linked to the
    case; the same reply promoted again gives the same draft. Returns (draft, created)."""
    async with db.uow() as uow:
        case = await repository.case_by_number(uow.session, number, for_update=True)
        if case is None or not sees_queue(case.queue):
            raise NotFound("case not found")
        if case.status_category not in DONE_STATUSES:
            raise Conflict(
                f"case {number} is {case.status}: only a resolved or closed case has a solution to promote"
            )
        reply = await repository.last_public_reply(uow.session, case.id)
        if reply is None:
            raise Conflict(f"case {number} has no public reply to promote")
        existing = await repository.draft_from(uow.session, reply.id)
        if existing is not None:
            await uow.commit()
            return existing, False
        # Internal until an editor has read it: a reply to one customer may name them.
        article = _new_kb_article(
            uow,
            title=(options.title or case.subject)[:300],
            body_html=domain.text_to_html(reply.body_text),
            lang=options.lang,
            visibility=Visibility.INTERNAL,
            category=options.category,
            tags=options.tags,
            author=author or reply.from_email,
        )
        article.source_case_number, article.source_article_id = case.number, reply.id
        await uow.commit()
    return article, True


def _new_kb_article(
    uow: UnitOfWork,
    *,
    title: str,
    body_html: str,
    lang: str,
    visibility: str,
    category: str | None,
    tags: Iterable[str],
    author: str | None,
) -> KbArticle:
    now = uow.now()
    clean = domain.sanitise(body_html)
    article = KbArticle(
        id=str(uow.db.ids()),
        title=title,
        body_html=clean,
        body_text=domain.html_to_text(clean),
        lang=str(lang),
        visibility=str(visibility),
        category=category,
        status=KbStatus.DRAFT.value,
        author=author,
        version=1,
        created_at=now,
        updated_at=now,
        tag_rows=[KbArticleTag(tag=tag) for tag in tags],
    )
    uow.session.add(article)
    return article


async def _kb_article(uow: UnitOfWork, kb_article_id: str) -> KbArticle:
    article = await repository.kb_article(uow.session, kb_article_id, for_update=True)
    if article is None:
        raise NotFound("knowledge article not found")
    return article


def _replace_tags(article: KbArticle, tags: list[str]) -> bool:
    # Rows that stay are kept: deleting and re-adding the same key in one flush collides.
    if set(tags) == set(article.tags):
        return False
    article.tag_rows = [row for row in article.tag_rows if row.tag in tags] + [
        KbArticleTag(tag=tag) for tag in tags if tag not in article.tags
    ]
    return True


def _assign(target: Any, changes: dict[str, Any]) -> bool:
    """Set the fields that differ; whether any did."""
    changed = False
    for field, value in changes.items():
        value = value.value if isinstance(value, StrEnum) else value
        if getattr(target, field) != value:
            setattr(target, field, value)
            changed = True
    return changed


# ---- info board ----


async def list_board(
    db: Database, *, query: domain.BoardQuery, kind: str | None, cursor: str | None, limit: int
) -> Page[InfoBoardEntry]:
    async with db.sessions() as session:
        return await repository.list_board(session, query, kind=kind, cursor=cursor, limit=limit)


async def create_board_entry(
    db: Database, *, new: InfoBoardEntryCreate, author: str | None
) -> InfoBoardEntry:
    """An entry is valid from now unless told otherwise, and its window is never empty."""
    async with db.uow() as uow:
        now = uow.now()
        valid_from, valid_to = _utc(new.valid_from) or now, _utc(new.valid_to)
        domain.check_window(valid_from, valid_to)
        organisation_ids = await _known_organisations(uow, new.organisation_ids)
        body_html = domain.sanitise(new.body_html)
        entry = InfoBoardEntry(
            id=str(uow.db.ids()),
            title=new.title,
            body_html=body_html,
            body_text=domain.html_to_text(body_html),
            kind=new.kind.value,
            audience=new.audience.value,
            valid_from=valid_from,
            valid_to=valid_to,
            author=author,
            created_at=now,
            updated_at=now,
            organisation_rows=[InfoBoardEntryOrganisation(organisation_id=o) for o in organisation_ids],
        )
        uow.session.add(entry)
        await uow.commit()
    return entry


async def update_board_entry(db: Database, *, entry_id: str, changes: dict[str, Any]) -> InfoBoardEntry:
    """Edit an entry; the window it ends up with obeys the same rule as a new one."""
    async with db.uow() as uow:
        entry = await repository.board_entry(uow.session, entry_id)
        if entry is None:
            raise NotFound("info board entry not found")
        changes.update({key: _utc(changes[key]) for key in ("valid_from", "valid_to") if key in changes})
        domain.check_window(
            changes.get("valid_from", entry.valid_from), changes.get("valid_to", entry.valid_to)
        )
        changed = False
        if "organisation_ids" in changes:
            wanted = await _known_organisations(uow, changes.pop("organisation_ids"))
            if set(wanted) != set(entry.organisation_ids):
                entry.organisation_rows = [
                    r for r in entry.organisation_rows if r.organisation_id in wanted
                ] + [
                    InfoBoardEntryOrganisation(organisation_id=o)
                    for o in wanted
                    if o not in entry.organisation_ids
                ]
                changed = True
        if "body_html" in changes:
            body_html = domain.sanitise(changes.pop("body_html"))
            changes.update(body_html=body_html, body_text=domain.html_to_text(body_html))
        if _assign(entry, changes) or changed:
            entry.updated_at = uow.now()
        await uow.commit()
    return entry


def _utc(value: datetime | None) -> datetime | None:
    # Answers carry UTC, also right after a write that gave another offset.
    return value.astimezone(UTC) if value is not None else None


async def _known_organisations(uow: UnitOfWork, ids: list[str]) -> list[str]:
    wanted = list(dict.fromkeys(ids))
    unknown = await repository.unknown_organisations(uow.session, wanted)
    if unknown:
        raise InvalidInput("organisation_ids", f"unknown organisations: {', '.join(unknown)}")
    return wanted


# ---- standard solutions ----


async def list_standard_solutions(
    db: Database,
    *,
    lang: str | None,
    category: str | None,
    active: bool | None,
    cursor: str | None,
    limit: int,
) -> Page[StandardSolution]:
    async with db.sessions() as session:
        return await repository.list_standard_solutions(
            session, lang=lang, category=category, active=active, cursor=cursor, limit=limit
        )


async def get_standard_solution(db: Database, *, solution_id: str) -> StandardSolution:
    async with db.sessions() as session:
        solution = await repository.standard_solution(session, solution_id)
    if solution is None:
        raise NotFound("standard solution not found")
    return solution


async def create_standard_solution(
    db: Database, *, new: StandardSolutionCreate, author: str | None
) -> StandardSolution:
    """A reply template; placeholders it has that render cannot fill are reported, not refused."""
    async with db.uow() as uow:
        now = uow.now()
        solution = StandardSolution(
            id=str(uow.db.ids()),
            title=new.title,
            body=new.body,
            lang=new.lang.value,
            category=new.category,
            active=new.active,
            author=author,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(solution)
        await uow.commit()
    return solution


async def update_standard_solution(
    db: Database, *, solution_id: str, changes: dict[str, Any]
) -> StandardSolution:
    async with db.uow() as uow:
        solution = await repository.standard_solution(uow.session, solution_id)
        if solution is None:
            raise NotFound("standard solution not found")
        if _assign(solution, changes):
            solution.updated_at = uow.now()
        await uow.commit()
    return solution


async def render_for_case(
    db: Database, *, solution_id: str, number: int, agent_name: str | None, sees_queue: Callable[[str], bool]
) -> tuple[domain.Rendered, domain.Rendered]:
    """The solution's title and body filled in for a case: its requester, number and subject."""
    async with db.sessions() as session:
        solution = await repository.standard_solution(session, solution_id)
        if solution is None:
            raise NotFound("standard solution not found")
        case = await repository.case_by_number(session, number)
        if case is None or not sees_queue(case.queue):
            raise NotFound("case not found")
    context = domain.case_context(
        customer_name=case.requester.name,
        customer_email=case.requester.email,
        case_number=str(case.number),
        case_subject=case.subject,
        agent_name=agent_name,
    )
    return domain.render(solution.title, context), domain.render(solution.body, context)
