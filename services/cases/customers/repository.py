"""Queries of customers 360; lists are pages in a fixed order of string keys, continued after
the previous page's last key (an opaque cursor)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.customers.models import (
    Agreement,
    Asset,
    AssetCase,
    CustomerProfile,
    OrganisationProfile,
    Product,
    ProductHolder,
)
from services.cases.domain.access import Access
from services.cases.domain.statuses import DONE
from services.cases.models import Case, Customer, CustomerAddress, Organisation

DONE_STATUSES = sorted(s.value for s in DONE)


class BadCursor(ValueError):
    pass


def encode_cursor(values: Sequence[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()


def decode_cursor(cursor: str, size: int) -> list[str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise BadCursor(cursor) from None
    if not isinstance(values, list) or len(values) != size or not all(isinstance(v, str) for v in values):
        raise BadCursor(cursor)
    return values


def _after(columns: Sequence[Any], values: Sequence[str]) -> ColumnElement[bool]:
    clauses = [
        and_(*(c == v for c, v in zip(columns[:i], values[:i], strict=True)), column > values[i])
        for i, column in enumerate(columns)
    ]
    return or_(*clauses)


async def page(
    session: AsyncSession,
    query: Select[*tuple[Any, ...]],
    columns: Sequence[Any],
    key: Callable[[Any], list[str]],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """One page of ``query`` ordered by ``columns`` (together unique), and the cursor after it:
    ``key`` gives a row's values of ``columns``."""
    if cursor:
        query = query.where(_after(columns, decode_cursor(cursor, len(columns))))
    rows = list((await session.execute(query.order_by(*columns).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(key(rows[-1]))


# ---- organisations and customers ----


def organisations() -> Select[Organisation, OrganisationProfile]:
    return select(Organisation, OrganisationProfile).outerjoin(
        OrganisationProfile, OrganisationProfile.organisation_id == Organisation.id
    )


async def organisation(session: AsyncSession, organisation_id: str) -> Any:
    return (await session.execute(organisations().where(Organisation.id == organisation_id))).first()


async def organisation_number_taken(session: AsyncSession, number: str, *, but: str | None) -> bool:
    query = select(OrganisationProfile.organisation_id).where(OrganisationProfile.number == number)
    if but is not None:
        query = query.where(OrganisationProfile.organisation_id != but)
    return await session.scalar(query) is not None


async def domain_owners(session: AsyncSession) -> dict[str, str]:
    """Every listed mail domain and the organisation listing it (few enough to read whole)."""
    rows = await session.execute(select(Organisation.id, Organisation.domains))
    return {domain: row.id for row in rows for domain in row.domains or []}


SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


def customers(access: Access | None = None) -> Select[Customer, CustomerProfile]:
    query = select(Customer, CustomerProfile).outerjoin(
        CustomerProfile, CustomerProfile.customer_id == Customer.id
    )
    return query if access is None else visible_people(query, access)


def visible_people(query: SelectT, access: Access) -> SelectT:
    """A person is shown to a caller who sees one of their cases, or when they have none: the
    requester of a confidential case (a job applicant writing to HR) is part of that case."""
    if access.everything:
        return query
    theirs = select(Case.id).where(Case.requester_id == Customer.id)
    seen = theirs.where(Case.queue.in_(sorted(access.queues or ())))
    return query.where(or_(~theirs.exists(), seen.exists()))


def customers_with_address(email: str, access: Access | None = None) -> Select[Customer, CustomerProfile]:
    owner = select(CustomerAddress.customer_id).where(CustomerAddress.email == email.strip().lower())
    return customers(access).where(Customer.id.in_(owner))


async def customer(session: AsyncSession, customer_id: str, access: Access | None = None) -> Any:
    return (await session.execute(customers(access).where(Customer.id == customer_id))).first()


async def addresses(session: AsyncSession, customer_ids: Sequence[str]) -> list[CustomerAddress]:
    query = select(CustomerAddress).where(CustomerAddress.customer_id.in_(customer_ids))
    return list(await session.scalars(query.order_by(CustomerAddress.email)))


async def address_owners(session: AsyncSession, emails: Sequence[str]) -> dict[str, str]:
    rows = await session.execute(
        select(CustomerAddress.email, CustomerAddress.customer_id).where(CustomerAddress.email.in_(emails))
    )
    return {row.email: row.customer_id for row in rows}


async def exists(session: AsyncSession, model: Any, key: str) -> bool:
    return await session.get(model, key) is not None


# ---- agreements, products, assets ----


def agreements_of(*, customer_id: str | None, organisation_id: str | None) -> Select[Any]:
    query = select(Agreement)
    if customer_id is not None:
        query = query.where(Agreement.customer_id == customer_id)
    if organisation_id is not None:
        query = query.where(Agreement.organisation_id == organisation_id)
    return query


async def holder_agreements(
    session: AsyncSession, *, customer_id: str, organisation_id: str | None
) -> list[Agreement]:
    holders = [Agreement.customer_id == customer_id]
    if organisation_id is not None:
        holders.append(Agreement.organisation_id == organisation_id)
    query = select(Agreement).where(or_(*holders)).order_by(Agreement.valid_from.desc(), Agreement.number)
    return list(await session.scalars(query))


async def holder_products(
    session: AsyncSession, *, customer_id: str, organisation_id: str | None
) -> list[tuple[Product, ProductHolder]]:
    holders = [ProductHolder.customer_id == customer_id]
    if organisation_id is not None:
        holders.append(ProductHolder.organisation_id == organisation_id)
    query = (
        select(Product, ProductHolder)
        .join(ProductHolder, ProductHolder.product_id == Product.id)
        .where(or_(*holders))
        .order_by(Product.code, ProductHolder.customer_id)
    )
    return [(row.Product, row.ProductHolder) for row in await session.execute(query)]


async def product_held(
    session: AsyncSession, product_id: str, *, customer_id: str | None, organisation_id: str | None
) -> bool:
    query = select(ProductHolder.id).where(
        ProductHolder.product_id == product_id,
        ProductHolder.customer_id == customer_id if customer_id else ProductHolder.customer_id.is_(None),
        ProductHolder.organisation_id == organisation_id
        if organisation_id
        else ProductHolder.organisation_id.is_(None),
    )
    return await session.scalar(query) is not None


def assets_of(*, customer_id: str | None, organisation_id: str | None, type_: str | None) -> Select[Any]:
    query = select(Asset)
    if customer_id is not None:
        query = query.where(Asset.customer_id == customer_id)
    if organisation_id is not None:
        query = query.where(Asset.organisation_id == organisation_id)
    if type_ is not None:
        query = query.where(Asset.type == type_)
    return query


async def customer_assets(session: AsyncSession, customer_id: str) -> list[Asset]:
    query = select(Asset).where(Asset.customer_id == customer_id).order_by(Asset.identifier)
    return list(await session.scalars(query))


async def asset_by_identifier(session: AsyncSession, identifier: str) -> Asset | None:
    return await session.scalar(select(Asset).where(Asset.identifier == identifier))


async def asset_case(session: AsyncSession, asset_id: str, case_id: str) -> AssetCase | None:
    return await session.get(AssetCase, (asset_id, case_id))


# ---- cases, only those the caller sees ----


def _visible(query: Select[Any], access: Access) -> Select[Any]:
    # The access filter comes first and nothing widens it (as in the case list).
    if access.everything:
        return query
    return query.where(Case.queue.in_(sorted(access.queues or ())))


async def open_cases(session: AsyncSession, customer_id: str, access: Access, *, limit: int) -> list[Case]:
    query = _visible(select(Case), access).where(
        Case.requester_id == customer_id, Case.status_category.not_in(DONE_STATUSES)
    )
    return list(await session.scalars(query.order_by(Case.number.desc()).limit(limit)))


async def recent_closed_cases(
    session: AsyncSession, customer_id: str, access: Access, *, limit: int
) -> list[Case]:
    query = _visible(select(Case), access).where(
        Case.requester_id == customer_id, Case.status_category.in_(DONE_STATUSES)
    )
    ordered = query.order_by(Case.updated_at.desc(), Case.number.desc())
    return list(await session.scalars(ordered.limit(limit)))


async def asset_cases(session: AsyncSession, asset_id: str, access: Access) -> list[Case]:
    linked = select(AssetCase.case_id).where(AssetCase.asset_id == asset_id)
    query = _visible(select(Case), access).where(Case.id.in_(linked))
    return list(await session.scalars(query.order_by(Case.number.desc())))


def select_products() -> Select[Any]:
    return select(Product)
