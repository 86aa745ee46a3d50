"""Use cases of customers 360; each reads in one session or changes state in one unit of work.

No events yet: nothing outside the cases service consumes customers, agreements or assets.
The first consumer (SLA from agreements, reporting per organisation) adds them, through the outbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from services.cases import repository as cases_repository
from services.cases.customers import repository
from services.cases.customers.models import (
    Agreement,
    Asset,
    CustomerProfile,
    OrganisationProfile,
    Product,
    ProductHolder,
)
from services.cases.customers.schemas import (
    AgreementCreate,
    CustomerCreate,
    OrganisationCreate,
    ProductCreate,
)
from services.cases.domain.access import Access
from services.cases.domain.customers import normalise_address, organisation_for
from services.cases.models import Case, Customer, CustomerAddress, Organisation
from services.cases.refusals import Duplicate, NotFound, Rejected
from shared.db import Database, UnitOfWork

OPEN_CASES = 50
RECENT_CLOSED_CASES = 10


@dataclass(frozen=True)
class OrganisationView:
    organisation: Organisation
    profile: OrganisationProfile | None


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    profile: CustomerProfile | None
    addresses: list[CustomerAddress]


@dataclass(frozen=True)
class Customer360:
    person: CustomerView
    organisation: OrganisationView | None
    agreements: list[Agreement]
    products: list[tuple[Product, ProductHolder]]
    assets: list[Asset]
    open_cases: list[Case]
    recent_closed_cases: list[Case]
    now: datetime


# ---- rules ----


def valid_at(agreement: Agreement, now: datetime) -> bool:
    """An agreement holds from ``valid_from`` (inclusive) to ``valid_to`` (exclusive)."""
    return agreement.valid_from <= now and (agreement.valid_to is None or now < agreement.valid_to)


def clean(value: str | None) -> str | None:
    """Optional text, stripped; empty means none."""
    return (value or "").strip() or None


def domain_list(domains: Iterable[str]) -> list[str]:
    """Mail domains as they are matched: lower case, no ``@`` or trailing dot, each once."""
    result: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().lstrip("@").rstrip(".")
        if "." not in domain or any(c.isspace() or c in "@/" for c in domain):
            raise Rejected("domains", f"not a mail domain: {raw!r}")
        if domain not in result:
            result.append(domain)
    return result


def required(changes: dict[str, Any], *fields: str) -> None:
    for field in fields:
        if field in changes and changes[field] is None:
            raise Rejected(field, "may not be null")


async def commit_unique(uow: UnitOfWork, duplicate: Duplicate) -> None:
    """Commit; two writers adding the same unique value at once collide on its key."""
    try:
        await uow.commit()
    except IntegrityError:
        raise duplicate from None


async def check_known(uow: UnitOfWork, model: Any, key: str | None, field: str) -> None:
    if key is not None and not await repository.exists(uow.session, model, key):
        raise Rejected(field, f"unknown {field.removesuffix('_id')}")


# ---- organisations ----


async def list_organisations(
    db: Database, *, cursor: str | None, limit: int
) -> tuple[list[OrganisationView], str | None]:
    columns = [Organisation.name, Organisation.id]
    async with db.sessions() as session:
        rows, after = await repository.page(
            session,
            repository.organisations(),
            columns,
            lambda row: [row.Organisation.name, row.Organisation.id],
            cursor=cursor,
            limit=limit,
        )
    return [OrganisationView(row.Organisation, row.OrganisationProfile) for row in rows], after


async def get_organisation(db: Database, *, organisation_id: str) -> OrganisationView:
    async with db.sessions() as session:
        row = await repository.organisation(session, organisation_id)
    if row is None:
        raise NotFound("organisation not found")
    return OrganisationView(row.Organisation, row.OrganisationProfile)


async def create_organisation(db: Database, *, new: OrganisationCreate) -> OrganisationView:
    """An organisation's domains and number are its own: no other organisation may list them."""
    domains = domain_list(new.domains)
    async with db.uow() as uow:
        number = clean(new.number)
        await _check_organisation(uow, domains=domains, number=number, organisation_id=None)
        organisation = Organisation(
            id=str(uow.db.ids()), name=new.name.strip(), domains=domains, created_at=uow.now()
        )
        uow.session.add(organisation)
        await uow.session.flush()
        profile = OrganisationProfile(
            organisation_id=organisation.id, number=number, phone=clean(new.phone), address=clean(new.address)
        )
        uow.session.add(profile)
        await commit_unique(uow, Duplicate("number", "another organisation has this number"))
    return OrganisationView(organisation, profile)


async def update_organisation(
    db: Database, *, organisation_id: str, changes: dict[str, Any]
) -> OrganisationView:
    """Changes what is given; the same uniqueness as on creation."""
    required(changes, "name", "domains")
    async with db.uow() as uow:
        row = await repository.organisation(uow.session, organisation_id)
        if row is None:
            raise NotFound("organisation not found")
        organisation: Organisation = row.Organisation
        profile = row.OrganisationProfile or OrganisationProfile(organisation_id=organisation_id)
        domains = domain_list(changes["domains"]) if "domains" in changes else None
        number = clean(changes["number"]) if "number" in changes else None
        await _check_organisation(uow, domains=domains or [], number=number, organisation_id=organisation_id)
        if "name" in changes:
            organisation.name = changes["name"].strip()
        if domains is not None:
            organisation.domains = domains
        for field in ("number", "phone", "address"):
            if field in changes:
                setattr(profile, field, clean(changes[field]))
        uow.session.add(profile)
        await commit_unique(uow, Duplicate("number", "another organisation has this number"))
    return OrganisationView(organisation, profile)


async def _check_organisation(
    uow: UnitOfWork, *, domains: list[str], number: str | None, organisation_id: str | None
) -> None:
    owners = await repository.domain_owners(uow.session)
    for domain in domains:
        if owners.get(domain, organisation_id) != organisation_id:
            raise Duplicate("domains", f"{domain} is listed by another organisation")
    if number and await repository.organisation_number_taken(uow.session, number, but=organisation_id):
        raise Duplicate("number", "another organisation has this number")


# ---- customers ----


async def list_customers(
    db: Database, *, email: str | None, cursor: str | None, limit: int, access: Access
) -> tuple[list[CustomerView], str | None]:
    """Customers by primary address; ``email`` finds the one with that address among all of
    theirs. Only people the caller may see (``repository.visible_people``)."""
    query = repository.customers_with_address(email, access) if email else repository.customers(access)
    async with db.sessions() as session:
        rows, after = await repository.page(
            session, query, [Customer.email], lambda row: [row.Customer.email], cursor=cursor, limit=limit
        )
        addresses = await repository.addresses(session, [row.Customer.id for row in rows])
    return [_customer_view(row.Customer, row.CustomerProfile, addresses) for row in rows], after


def _customer_view(
    customer: Customer, profile: CustomerProfile | None, addresses: Iterable[CustomerAddress]
) -> CustomerView:
    return CustomerView(customer, profile, [a for a in addresses if a.customer_id == customer.id])


async def create_customer(db: Database, *, new: CustomerCreate) -> CustomerView:
    """A customer with a primary address and aliases, none of them anyone else's; without an
    organisation given, the one that lists the primary address's mail domain."""
    primary = normalise_address(str(new.email))
    aliases = [a for a in dict.fromkeys(normalise_address(str(a)) for a in new.aliases) if a != primary]
    async with db.uow() as uow:
        await _check_addresses(uow, primary=primary, aliases=aliases, customer_id=None)
        organisation_id = new.organisation_id
        if organisation_id is None:
            domains = await cases_repository.organisation_domains(uow.session)
            organisation_id = organisation_for(primary, domains)
        await check_known(uow, Organisation, organisation_id, "organisation_id")
        now = uow.now()
        customer = Customer(
            id=str(uow.db.ids()),
            email=primary,
            name=clean(new.name),
            organisation_id=organisation_id,
            created_at=now,
        )
        uow.session.add(customer)
        await uow.session.flush()
        rows = [
            CustomerAddress(email=a, customer_id=customer.id, created_at=now) for a in [primary, *aliases]
        ]
        profile = CustomerProfile(customer_id=customer.id, phone=clean(new.phone), address=clean(new.address))
        uow.session.add_all([*rows, profile])
        await commit_unique(uow, Duplicate("email", "another customer has this address"))
    return CustomerView(customer, profile, sorted(rows, key=lambda a: a.email))


async def update_customer(db: Database, *, customer_id: str, changes: dict[str, Any]) -> CustomerView:
    """Changes what is given; ``aliases`` replaces every address but the primary one."""
    async with db.uow() as uow:
        row = await repository.customer(uow.session, customer_id)
        if row is None:
            raise NotFound("customer not found")
        customer: Customer = row.Customer
        profile = row.CustomerProfile or CustomerProfile(customer_id=customer_id)
        if "organisation_id" in changes:
            await check_known(uow, Organisation, changes["organisation_id"], "organisation_id")
            customer.organisation_id = changes["organisation_id"]
        if "name" in changes:
            customer.name = clean(changes["name"])
        for field in ("phone", "address"):
            if field in changes:
                setattr(profile, field, clean(changes[field]))
        uow.session.add(profile)
        if changes.get("aliases") is not None:
            await _replace_aliases(uow, customer, [normalise_address(str(a)) for a in changes["aliases"]])
        await commit_unique(uow, Duplicate("aliases", "another customer has this address"))
        addresses = await repository.addresses(uow.session, [customer_id])
    return CustomerView(customer, profile, addresses)


async def _replace_aliases(uow: UnitOfWork, customer: Customer, wanted: list[str]) -> None:
    aliases = [a for a in dict.fromkeys(wanted) if a != customer.email]
    await _check_addresses(uow, primary=None, aliases=aliases, customer_id=customer.id)
    current = {a.email: a for a in await repository.addresses(uow.session, [customer.id])}
    for email, row in current.items():
        if email != customer.email and email not in aliases:
            await uow.session.delete(row)
    for email in aliases:
        if email not in current:
            uow.session.add(CustomerAddress(email=email, customer_id=customer.id, created_at=uow.now()))


async def _check_addresses(
    uow: UnitOfWork, *, primary: str | None, aliases: list[str], customer_id: str | None
) -> None:
    owners = await repository.address_owners(uow.session, [a for a in [primary, *aliases] if a])
    if primary is not None and owners.get(primary, customer_id) != customer_id:
        raise Duplicate("email", "another customer has this address")
    if any(owners.get(a, customer_id) != customer_id for a in aliases):
        raise Duplicate("aliases", "another customer has this address")


async def customer_360(db: Database, *, customer_id: str, access: Access) -> Customer360:
    """A person with their organisation, agreements, products, assets and the cases the caller
    sees. A person all of whose cases are out of the caller's sight, or any person for an
    unknown caller, is answered like a missing one."""
    if not access.known:
        raise NotFound("customer not found")
    async with db.sessions() as session:
        row = await repository.customer(session, customer_id, access)
        if row is None:
            raise NotFound("customer not found")
        customer: Customer = row.Customer
        organisation_id = customer.organisation_id
        organisation = await repository.organisation(session, organisation_id) if organisation_id else None
        return Customer360(
            person=CustomerView(
                customer, row.CustomerProfile, await repository.addresses(session, [customer.id])
            ),
            organisation=OrganisationView(organisation.Organisation, organisation.OrganisationProfile)
            if organisation
            else None,
            agreements=await repository.holder_agreements(
                session, customer_id=customer.id, organisation_id=organisation_id
            ),
            products=await repository.holder_products(
                session, customer_id=customer.id, organisation_id=organisation_id
            ),
            assets=await repository.customer_assets(session, customer.id),
            open_cases=await repository.open_cases(session, customer.id, access, limit=OPEN_CASES),
            recent_closed_cases=await repository.recent_closed_cases(
                session, customer.id, access, limit=RECENT_CLOSED_CASES
            ),
            now=db.clock(),
        )


# ---- agreements ----


async def list_agreements(
    db: Database, *, customer_id: str | None, organisation_id: str | None, cursor: str | None, limit: int
) -> tuple[list[Agreement], str | None]:
    query = repository.agreements_of(customer_id=customer_id, organisation_id=organisation_id)
    async with db.sessions() as session:
        rows, after = await repository.page(
            session, query, [Agreement.number], lambda row: [row.Agreement.number], cursor=cursor, limit=limit
        )
    return [row.Agreement for row in rows], after


async def create_agreement(db: Database, *, new: AgreementCreate) -> Agreement:
    """An agreement has one holder, a customer or an organisation, and ends after it begins."""
    if (new.organisation_id is None) == (new.customer_id is None):
        raise Rejected("organisation_id", "give exactly one of organisation_id and customer_id")
    if new.valid_to is not None and new.valid_to <= new.valid_from:
        raise Rejected("valid_to", "must be after valid_from")
    async with db.uow() as uow:
        await check_known(uow, Organisation, new.organisation_id, "organisation_id")
        await check_known(uow, Customer, new.customer_id, "customer_id")
        agreement = Agreement(
            id=str(uow.db.ids()),
            **new.model_dump(include={"organisation_id", "customer_id", "valid_from", "valid_to"}),
            number=new.number.strip(),
            name=new.name.strip(),
            sla=new.sla.strip(),
            created_at=uow.now(),
        )
        uow.session.add(agreement)
        await commit_unique(uow, Duplicate("number", "another agreement has this number"))
    return agreement


# ---- products and services ----


async def list_products(db: Database, *, cursor: str | None, limit: int) -> tuple[list[Product], str | None]:
    async with db.sessions() as session:
        rows, after = await repository.page(
            session,
            repository.select_products(),
            [Product.code],
            lambda row: [row.Product.code],
            cursor=cursor,
            limit=limit,
        )
    return [row.Product for row in rows], after


async def create_product(db: Database, *, new: ProductCreate) -> Product:
    """A product or service, known by a code nothing else has."""
    async with db.uow() as uow:
        product = Product(
            id=str(uow.db.ids()),
            code=new.code.strip(),
            name=new.name.strip(),
            kind=new.kind,
            description=clean(new.description),
            created_at=uow.now(),
        )
        uow.session.add(product)
        await commit_unique(uow, Duplicate("code", "another product has this code"))
    return product


async def grant_product(
    db: Database, *, product_id: str, customer_id: str | None = None, organisation_id: str | None = None
) -> Product:
    """Record that a customer or an organisation has a product; once each."""
    async with db.uow() as uow:
        if customer_id is not None and not await repository.exists(uow.session, Customer, customer_id):
            raise NotFound("customer not found")
        if organisation_id is not None and not await repository.exists(
            uow.session, Organisation, organisation_id
        ):
            raise NotFound("organisation not found")
        product = await uow.session.get(Product, product_id)
        if product is None:
            raise Rejected("product_id", "unknown product")
        duplicate = Duplicate("product_id", "already held")
        if await repository.product_held(
            uow.session, product_id, customer_id=customer_id, organisation_id=organisation_id
        ):
            raise duplicate
        holder = ProductHolder(
            id=str(uow.db.ids()),
            product_id=product_id,
            customer_id=customer_id,
            organisation_id=organisation_id,
            created_at=uow.now(),
        )
        uow.session.add(holder)
        await commit_unique(uow, duplicate)
    return product
