"""Queries of the cases service."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.cases.domain.access import Access, Member, Role
from services.cases.domain.customers import OrganisationDomains
from services.cases.domain.statuses import Status
from services.cases.domain.threading import CaseState, KnownMessage
from services.cases.models import (
    Article,
    ArticleBlob,
    Case,
    CaseExternalRef,
    Counter,
    Customer,
    CustomerAddress,
    Group,
    GroupMember,
    MessageRef,
    Organisation,
    Queue,
    User,
)
from services.cases.search import domain as search_domain
from services.cases.search import index as search_index


async def next_number(session: AsyncSession, *, name: str, first: int) -> int:
    """Hand out the next number of a counter; the row lock serialises concurrent callers."""
    result = await session.execute(
        update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    )
    value = result.scalar_one_or_none()
    if value is not None:
        return int(value)
    session.add(Counter(name=name, value=first))
    await session.flush()
    return first


async def customer_by_email(session: AsyncSession, email: str) -> Customer | None:
    """The customer with this address among their addresses (primary or alias), any case."""
    owner = select(CustomerAddress.customer_id).where(CustomerAddress.email == email.strip().lower())
    return await session.scalar(select(Customer).where(Customer.id.in_(owner)))


async def customer_address(session: AsyncSession, email: str) -> CustomerAddress | None:
    return await session.get(CustomerAddress, email.strip().lower())


async def organisation_domains(session: AsyncSession) -> list[OrganisationDomains]:
    # Every organisation: few enough for now; an indexed domain table comes with customer-360.
    rows = await session.execute(select(Organisation.id, Organisation.domains))
    return [OrganisationDomains(row.id, list(row.domains or [])) for row in rows]


async def case_by_number(session: AsyncSession, number: int, *, with_articles: bool = False) -> Case | None:
    """Any case, whoever asks: internal use. What a caller asks for goes through ``visible_case``."""
    query = select(Case).where(Case.number == number)
    if with_articles:
        query = query.options(selectinload(Case.articles))
    return await session.scalar(query)


async def visible_case(
    session: AsyncSession, number: int, access: Access, *, with_articles: bool = False
) -> Case | None:
    """The case if the caller may see it; None both when it is hidden and when it does not exist."""
    case = await case_by_number(session, number, with_articles=with_articles)
    return case if case is not None and access.sees(case.queue) else None


async def member(session: AsyncSession, user_id: str) -> Member | None:
    """A user's role, whether active, and the keys of the queues their groups own."""
    user = await session.get(User, user_id)
    if user is None:
        return None
    keys = await session.scalars(
        select(Queue.key)
        .join(GroupMember, GroupMember.group_id == Queue.group_id)
        .where(GroupMember.user_id == user_id)
    )
    return Member(role=Role(user.role), active=user.active, queues=frozenset(keys))


async def existing_numbers(session: AsyncSession, numbers: Sequence[int]) -> set[int]:
    if not numbers:
        return set()
    rows = await session.scalars(select(Case.number).where(Case.number.in_(numbers)))
    return set(rows)


async def known_messages(session: AsyncSession, message_ids: Sequence[str]) -> dict[str, KnownMessage]:
    if not message_ids:
        return {}
    rows = await session.execute(
        select(MessageRef.rfc_message_id, MessageRef.description, Case.number)
        .join(Case, Case.id == MessageRef.case_id)
        .where(MessageRef.rfc_message_id.in_(message_ids))
    )
    return {row.rfc_message_id: KnownMessage(row.number, row.description) for row in rows}


async def merges_from(session: AsyncSession, number: int, *, hops: int = 10) -> dict[int, int]:
    """The merges that lead on from case ``number``: {case: the case it was merged into}."""
    chain: dict[int, int] = {}
    while len(chain) < hops:
        survivor = await session.scalar(select(Case.merged_into).where(Case.number == number))
        if survivor is None or survivor in chain:
            break
        chain[number] = survivor
        number = survivor
    return chain


async def case_state(session: AsyncSession, number: int) -> CaseState | None:
    """Status category and closing time of a case, and its newest follow-up that is not closed.
    The closed-case rule asks for the category: every case type has its own closed statuses."""
    row = (
        await session.execute(select(Case.status_category, Case.closed_at).where(Case.number == number))
    ).one_or_none()
    if row is None:
        return None
    follow_up = await session.scalar(
        select(func.max(Case.number)).where(
            Case.follow_up_of == number, Case.status_category != Status.CLOSED.value
        )
    )
    return CaseState(number, row.status_category, row.closed_at, follow_up)


async def cases_by_external_ref(
    session: AsyncSession, *, source: str, references: Sequence[str]
) -> dict[str, int]:
    if not references:
        return {}
    rows = await session.execute(
        select(CaseExternalRef.reference, Case.number)
        .join(Case, Case.id == CaseExternalRef.case_id)
        .where(CaseExternalRef.source == source, CaseExternalRef.reference.in_(references))
    )
    return {row.reference: row.number for row in rows}


async def intake_id_of_message(session: AsyncSession, message_id: str) -> str | None:
    """Intake's id of the message that brought this Message-ID in, if it came in."""
    return await session.scalar(
        select(MessageRef.intake_message_id).where(MessageRef.rfc_message_id == message_id)
    )


async def message_ref_exists(session: AsyncSession, message_id: str) -> bool:
    return (await session.get(MessageRef, message_id)) is not None


async def next_article_seq(session: AsyncSession, case_id: str) -> int:
    current = await session.scalar(select(func.max(Article.seq)).where(Article.case_id == case_id))
    return int(current or 0) + 1


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    queue: str | None = None
    requester: str | None = None
    text: str | None = None
    type: str | None = None
    status_category: str | None = None
    priority: str | None = None
    assignee: str | None = None


async def list_cases(
    session: AsyncSession, filters: CaseFilter, access: Access, *, before_number: int | None, limit: int
) -> list[Case]:
    """The cases the caller may see, newest first; ``before_number`` is the previous page's cursor."""
    query = select(Case).order_by(Case.number.desc()).limit(limit)
    if access.queues is not None:
        # Access first: every filter below narrows what the caller may see, never widens it.
        if not access.queues or (filters.queue and filters.queue not in access.queues):
            return []
        if not filters.queue:
            # With one queue asked for (and seen), ``queue = X`` alone: the planner would count
            # the queue twice and misjudge the rows, and walk no index (tests/bench/case_queries.py).
            query = query.where(Case.queue.in_(sorted(access.queues)))
    if before_number is not None:
        query = query.where(Case.number < before_number)
    for column, wanted in (
        (Case.status, filters.status),
        (Case.queue, filters.queue),
        (Case.type, filters.type),
        (Case.status_category, filters.status_category),
        (Case.priority, filters.priority),
        (Case.assignee, filters.assignee),
    ):
        if wanted:
            query = query.where(column == wanted)
    if filters.requester:
        requester = select(CustomerAddress.customer_id).where(
            CustomerAddress.email == filters.requester.strip().lower()
        )
        query = query.where(Case.requester_id.in_(requester))
    if filters.text:
        # The words as full-text search finds them (stems, both languages), through its indexes.
        words = search_domain.search_query(filters.text)
        if not words.terms:
            return []
        postgresql = session.get_bind().dialect.name == "postgresql"
        query = query.where(Case.id.in_(search_index.matching_cases(words, postgresql=postgresql)))
    return list(await session.scalars(query))


# --- users, groups, queues ----------------------------------------------------------------------


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def list_users(session: AsyncSession, *, after_email: str | None, limit: int) -> list[User]:
    """By email; ``after_email`` is the cursor of the previous page."""
    query = select(User).order_by(User.email).limit(limit)
    if after_email is not None:
        query = query.where(User.email > after_email)
    return list(await session.scalars(query))


async def groups_of(session: AsyncSession, user_ids: Sequence[str]) -> dict[str, list[str]]:
    """The group ids of each user, in the order they joined."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(GroupMember.user_id, GroupMember.group_id)
        .where(GroupMember.user_id.in_(user_ids))
        .order_by(GroupMember.created_at, GroupMember.group_id)
    )
    found: dict[str, list[str]] = {user_id: [] for user_id in user_ids}
    for row in rows:
        found[row.user_id].append(row.group_id)
    return found


async def group_by_key(session: AsyncSession, key: str) -> Group | None:
    return await session.scalar(select(Group).where(Group.key == key))


async def group_with_members(session: AsyncSession, group_id: str) -> Group | None:
    return await session.scalar(
        select(Group).where(Group.id == group_id).options(selectinload(Group.members))
    )


async def list_groups(session: AsyncSession) -> list[Group]:
    query = select(Group).order_by(Group.key).options(selectinload(Group.members))
    return list(await session.scalars(query))


async def membership(session: AsyncSession, group_id: str, user_id: str) -> GroupMember | None:
    return await session.get(GroupMember, (group_id, user_id))


async def queue_by_key(session: AsyncSession, key: str) -> Queue | None:
    return await session.scalar(select(Queue).where(Queue.key == key))


async def list_queues(session: AsyncSession) -> list[Queue]:
    return list(await session.scalars(select(Queue).order_by(Queue.key)))


async def blob_for(session: AsyncSession, sha256: str, *, sees: Callable[[str], bool]) -> ArticleBlob | None:
    """A stored part of an article on a case the caller sees; None when there is none."""
    rows = await session.execute(
        select(ArticleBlob, Case.queue)
        .join(Article, Article.id == ArticleBlob.article_id)
        .join(Case, Case.id == Article.case_id)
        .where(ArticleBlob.sha256 == sha256)
    )
    return next((blob for blob, queue in rows if sees(queue)), None)
