"""Routes of customers 360: ``/api/v1/customers``, ``/organisations``, ``/agreements``,
``/products`` and ``/assets``. Parse, call the service, map the result."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError

from services.cases import refusals
from services.cases import repository as cases_repository
from services.cases.access import Viewer, require_known
from services.cases.api import NOT_FOUND as CASE_NOT_FOUND
from services.cases.api import case_read
from services.cases.customers import assets, repository, service
from services.cases.customers.models import Agreement, Asset, Product
from services.cases.customers.schemas import (
    AddressRead,
    AgreementCreate,
    AgreementList,
    AgreementRead,
    AssetCaseLink,
    AssetCreate,
    AssetDetail,
    AssetList,
    AssetRead,
    AssetUpdate,
    CustomerCreate,
    CustomerList,
    CustomerRead,
    CustomerUpdate,
    CustomerView,
    HeldAgreement,
    HeldProduct,
    OrganisationCreate,
    OrganisationList,
    OrganisationRead,
    OrganisationUpdate,
    ProductCreate,
    ProductGrant,
    ProductList,
    ProductRead,
)
from services.cases.domain.access import RANK, Access, Role, identity, lower
from shared.app import Ctx, Cursor, Limit, ServiceContext
from shared.http import ROLE_HEADER

router = APIRouter(tags=["customers"])
RoleHeader = Annotated[str | None, Header(alias=ROLE_HEADER, include_in_schema=False)]


async def editor(ctx: Ctx, access: Viewer, role: RoleHeader = None) -> Access:
    """Who may change the register: admins, internal calls and team leads (they run the desk's
    day-to-day: a new customer, a swapped PC). Agents read. A team lead's role counts only while
    the user is an active team lead or more, as for every role (the lower of token and user)."""
    if access.administers:
        return access
    who = identity(access.subject, role)
    if access.known and access.subject and who is not None and who.role is not None:
        async with ctx.db.sessions() as session:
            member = await cases_repository.member(session, access.subject)
        if (
            member is not None
            and member.active
            and RANK[lower(who.role, member.role)] >= RANK[Role.TEAM_LEAD]
        ):
            return access
    raise HTTPException(status.HTTP_403_FORBIDDEN, "admin or team lead role required")


Editor = Annotated[Access, Depends(editor)]


def reader(access: Viewer) -> Access:
    require_known(access)
    return access


Reader = Annotated[Access, Depends(reader)]


@contextlib.contextmanager
def answers() -> Iterator[None]:
    """The service's refusals as HTTP answers; a broken rule is a 422 naming its field."""
    try:
        with refusals.answers():
            yield
    except assets.CaseHidden:
        raise HTTPException(status.HTTP_404_NOT_FOUND, CASE_NOT_FOUND) from None
    except repository.BadCursor:
        error = {
            "type": "value_error",
            "loc": ("query", "cursor"),
            "msg": "not a cursor of this list",
            "input": None,
        }
        raise RequestValidationError([error]) from None


# ---- mapping ----


def organisation_read(view: service.OrganisationView) -> OrganisationRead:
    organisation, profile = view.organisation, view.profile
    return OrganisationRead(
        id=organisation.id,
        name=organisation.name,
        number=profile.number if profile else None,
        domains=list(organisation.domains or []),
        phone=profile.phone if profile else None,
        address=profile.address if profile else None,
        created_at=organisation.created_at,
    )


def customer_read(view: service.CustomerView) -> CustomerRead:
    customer, profile = view.customer, view.profile
    return CustomerRead(
        id=customer.id,
        email=customer.email,
        name=customer.name,
        addresses=[
            AddressRead(
                email=a.email, primary=a.email == customer.email, undeliverable=a.undeliverable_at is not None
            )
            for a in view.addresses
        ],
        phone=profile.phone if profile else None,
        address=profile.address if profile else None,
        organisation_id=customer.organisation_id,
        created_at=customer.created_at,
    )


def agreement_read(agreement: Agreement, ctx: ServiceContext) -> AgreementRead:
    fields = set(AgreementRead.model_fields) - {"valid_now"}
    values = {field: getattr(agreement, field) for field in fields}
    return AgreementRead(**values, valid_now=service.valid_at(agreement, ctx.db.clock()))


def product_read(product: Product) -> ProductRead:
    return ProductRead.model_validate(product, from_attributes=True)


def asset_read(asset: Asset) -> AssetRead:
    return AssetRead.model_validate(asset, from_attributes=True)


def asset_detail(view: assets.AssetView) -> AssetDetail:
    return AssetDetail(**asset_read(view.asset).model_dump(), cases=[case_read(c) for c in view.cases])


def customer_view(view: service.Customer360) -> CustomerView:
    person = view.person.customer
    return CustomerView(
        **customer_read(view.person).model_dump(),
        organisation=organisation_read(view.organisation) if view.organisation else None,
        agreements=[
            HeldAgreement(
                **{f: getattr(a, f) for f in set(AgreementRead.model_fields) - {"valid_now"}},
                valid_now=service.valid_at(a, view.now),
                held_by="customer" if a.customer_id == person.id else "organisation",
            )
            for a in view.agreements
        ],
        products=[
            HeldProduct(
                **product_read(product).model_dump(),
                held_by="customer" if holder.customer_id == person.id else "organisation",
            )
            for product, holder in view.products
        ],
        assets=[asset_read(a) for a in view.assets],
        open_cases=[case_read(c) for c in view.open_cases],
        recent_closed_cases=[case_read(c) for c in view.recent_closed_cases],
    )


# ---- organisations ----


@router.get("/api/v1/organisations", response_model=OrganisationList)
async def list_organisations(
    ctx: Ctx, _: Reader, cursor: Cursor = None, limit: Limit = 50
) -> OrganisationList:
    with answers():
        views, after = await service.list_organisations(ctx.db, cursor=cursor, limit=limit)
    return OrganisationList(items=[organisation_read(v) for v in views], next_cursor=after)


@router.post("/api/v1/organisations", response_model=OrganisationRead, status_code=status.HTTP_201_CREATED)
async def create_organisation(body: OrganisationCreate, ctx: Ctx, _: Editor) -> OrganisationRead:
    with answers():
        return organisation_read(await service.create_organisation(ctx.db, new=body))


@router.get("/api/v1/organisations/{organisation_id}", response_model=OrganisationRead)
async def get_organisation(organisation_id: str, ctx: Ctx, _: Reader) -> OrganisationRead:
    with answers():
        return organisation_read(await service.get_organisation(ctx.db, organisation_id=organisation_id))


@router.patch("/api/v1/organisations/{organisation_id}", response_model=OrganisationRead)
async def update_organisation(
    organisation_id: str, body: OrganisationUpdate, ctx: Ctx, _: Editor
) -> OrganisationRead:
    changes = body.model_dump(exclude_unset=True)
    with answers():
        view = await service.update_organisation(ctx.db, organisation_id=organisation_id, changes=changes)
    return organisation_read(view)


@router.post(
    "/api/v1/organisations/{organisation_id}/products",
    response_model=ProductRead,
    status_code=status.HTTP_201_CREATED,
)
async def grant_organisation_product(
    organisation_id: str, body: ProductGrant, ctx: Ctx, _: Editor
) -> ProductRead:
    with answers():
        product = await service.grant_product(
            ctx.db, product_id=body.product_id, organisation_id=organisation_id
        )
    return product_read(product)


# ---- customers ----


@router.get("/api/v1/customers", response_model=CustomerList)
async def list_customers(
    ctx: Ctx,
    access: Reader,
    email: Annotated[str | None, Query(max_length=320, description="Any of the customer's addresses")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CustomerList:
    with answers():
        views, after = await service.list_customers(
            ctx.db, email=email, cursor=cursor, limit=limit, access=access
        )
    return CustomerList(items=[customer_read(v) for v in views], next_cursor=after)


@router.post("/api/v1/customers", response_model=CustomerRead, status_code=status.HTTP_201_CREATED)
async def create_customer(body: CustomerCreate, ctx: Ctx, _: Editor) -> CustomerRead:
    with answers():
        return customer_read(await service.create_customer(ctx.db, new=body))


@router.get("/api/v1/customers/{customer_id}", response_model=CustomerView)
async def get_customer(customer_id: str, ctx: Ctx, access: Viewer) -> CustomerView:
    with answers():
        return customer_view(await service.customer_360(ctx.db, customer_id=customer_id, access=access))


@router.patch("/api/v1/customers/{customer_id}", response_model=CustomerRead)
async def update_customer(customer_id: str, body: CustomerUpdate, ctx: Ctx, _: Editor) -> CustomerRead:
    changes = body.model_dump(exclude_unset=True)
    with answers():
        return customer_read(await service.update_customer(ctx.db, customer_id=customer_id, changes=changes))


@router.post(
    "/api/v1/customers/{customer_id}/products",
    response_model=ProductRead,
    status_code=status.HTTP_201_CREATED,
)
async def grant_customer_product(customer_id: str, body: ProductGrant, ctx: Ctx, _: Editor) -> ProductRead:
    with answers():
        product = await service.grant_product(ctx.db, product_id=body.product_id, customer_id=customer_id)
    return product_read(product)


# ---- agreements and products ----


@router.get("/api/v1/agreements", response_model=AgreementList)
async def list_agreements(
    ctx: Ctx,
    _: Reader,
    customer_id: str | None = None,
    organisation_id: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> AgreementList:
    with answers():
        agreements, after = await service.list_agreements(
            ctx.db, customer_id=customer_id, organisation_id=organisation_id, cursor=cursor, limit=limit
        )
    return AgreementList(items=[agreement_read(a, ctx) for a in agreements], next_cursor=after)


@router.post("/api/v1/agreements", response_model=AgreementRead, status_code=status.HTTP_201_CREATED)
async def create_agreement(body: AgreementCreate, ctx: Ctx, _: Editor) -> AgreementRead:
    with answers():
        return agreement_read(await service.create_agreement(ctx.db, new=body), ctx)


@router.get("/api/v1/products", response_model=ProductList)
async def list_products(ctx: Ctx, _: Reader, cursor: Cursor = None, limit: Limit = 50) -> ProductList:
    with answers():
        products, after = await service.list_products(ctx.db, cursor=cursor, limit=limit)
    return ProductList(items=[product_read(p) for p in products], next_cursor=after)


@router.post("/api/v1/products", response_model=ProductRead, status_code=status.HTTP_201_CREATED)
async def create_product(body: ProductCreate, ctx: Ctx, _: Editor) -> ProductRead:
    with answers():
        return product_read(await service.create_product(ctx.db, new=body))


# ---- assets ----


@router.get("/api/v1/assets", response_model=AssetList)
async def list_assets(
    ctx: Ctx,
    _: Reader,
    customer_id: str | None = None,
    organisation_id: str | None = None,
    type: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> AssetList:
    with answers():
        found, after = await assets.list_assets(
            ctx.db,
            customer_id=customer_id,
            organisation_id=organisation_id,
            type_=type,
            cursor=cursor,
            limit=limit,
        )
    return AssetList(items=[asset_read(a) for a in found], next_cursor=after)


@router.post("/api/v1/assets", response_model=AssetRead, status_code=status.HTTP_201_CREATED)
async def create_asset(body: AssetCreate, ctx: Ctx, _: Editor) -> AssetRead:
    with answers():
        return asset_read(await assets.create_asset(ctx.db, new=body))


@router.get("/api/v1/assets/{asset_id}", response_model=AssetDetail)
async def get_asset(asset_id: str, ctx: Ctx, access: Reader) -> AssetDetail:
    with answers():
        return asset_detail(await assets.get_asset(ctx.db, asset_id=asset_id, access=access))


@router.patch("/api/v1/assets/{asset_id}", response_model=AssetDetail)
async def update_asset(asset_id: str, body: AssetUpdate, ctx: Ctx, access: Editor) -> AssetDetail:
    changes = body.model_dump(exclude_unset=True)
    with answers():
        return asset_detail(
            await assets.update_asset(ctx.db, asset_id=asset_id, changes=changes, access=access)
        )


@router.post(
    "/api/v1/assets/{asset_id}/cases", response_model=AssetDetail, status_code=status.HTTP_201_CREATED
)
async def link_asset_case(asset_id: str, body: AssetCaseLink, ctx: Ctx, access: Editor) -> AssetDetail:
    with answers():
        view = await assets.link_case(ctx.db, asset_id=asset_id, number=int(body.number), access=access)
    return asset_detail(view)
