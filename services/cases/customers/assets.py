"""Assets (the inventory register) and the cases they are linked to; links and the cases shown
obey the caller's access like every read of cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.cases import repository as cases_repository
from services.cases.customers import repository
from services.cases.customers.models import Asset, AssetCase
from services.cases.customers.schemas import AssetCreate
from services.cases.customers.service import Duplicate, NotFound, check_known, clean, commit_unique, required
from services.cases.domain.access import Access
from services.cases.models import Case, Customer, Organisation
from shared.db import Database


@dataclass(frozen=True)
class AssetView:
    asset: Asset
    cases: list[Case]


async def list_assets(
    db: Database,
    *,
    customer_id: str | None,
    organisation_id: str | None,
    type_: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Asset], str | None]:
    query = repository.assets_of(customer_id=customer_id, organisation_id=organisation_id, type_=type_)
    async with db.sessions() as session:
        rows, after = await repository.page(
            session, query, [Asset.identifier], lambda row: [row.Asset.identifier], cursor=cursor, limit=limit
        )
    return [row.Asset for row in rows], after


async def get_asset(db: Database, *, asset_id: str, access: Access) -> AssetView:
    """An asset with the linked cases the caller sees."""
    async with db.sessions() as session:
        asset = await session.get(Asset, asset_id)
        if asset is None:
            raise NotFound("asset not found")
        return AssetView(asset, await repository.asset_cases(session, asset_id, access))


async def create_asset(db: Database, *, new: AssetCreate) -> Asset:
    """An asset, known by an identifier nothing else has; its owner and user must exist."""
    async with db.uow() as uow:
        await check_known(uow, Customer, new.customer_id, "customer_id")
        await check_known(uow, Organisation, new.organisation_id, "organisation_id")
        now = uow.now()
        asset = Asset(
            id=str(uow.db.ids()),
            type=new.type.strip(),
            identifier=new.identifier.strip(),
            name=new.name.strip(),
            location=clean(new.location),
            customer_id=new.customer_id,
            organisation_id=new.organisation_id,
            created_at=now,
            updated_at=now,
        )
        if await repository.asset_by_identifier(uow.session, asset.identifier) is not None:
            raise Duplicate("identifier", "another asset has this identifier")
        uow.session.add(asset)
        await commit_unique(uow, Duplicate("identifier", "another asset has this identifier"))
    return asset


async def update_asset(db: Database, *, asset_id: str, changes: dict[str, Any], access: Access) -> AssetView:
    """Changes what is given, with the rules of creation."""
    required(changes, "type", "identifier", "name")
    async with db.uow() as uow:
        asset = await uow.session.get(Asset, asset_id)
        if asset is None:
            raise NotFound("asset not found")
        await check_known(uow, Customer, changes.get("customer_id"), "customer_id")
        await check_known(uow, Organisation, changes.get("organisation_id"), "organisation_id")
        if "identifier" in changes:
            other = await repository.asset_by_identifier(uow.session, changes["identifier"].strip())
            if other is not None and other.id != asset_id:
                raise Duplicate("identifier", "another asset has this identifier")
        for field, value in changes.items():
            setattr(asset, field, value.strip() if field in ("type", "identifier", "name") else value)
        if "location" in changes:
            asset.location = clean(changes["location"])
        asset.updated_at = uow.now()
        await commit_unique(uow, Duplicate("identifier", "another asset has this identifier"))
        return AssetView(asset, await repository.asset_cases(uow.session, asset_id, access))


class CaseHidden(LookupError):
    """The case does not exist or the caller may not see it (answered alike)."""


async def link_case(db: Database, *, asset_id: str, number: int, access: Access) -> AssetView:
    """Link a case the caller sees to an asset, once."""
    async with db.uow() as uow:
        asset = await uow.session.get(Asset, asset_id)
        if asset is None:
            raise NotFound("asset not found")
        case = await cases_repository.visible_case(uow.session, number, access)
        if case is None:
            raise CaseHidden(number)
        if await repository.asset_case(uow.session, asset_id, case.id) is not None:
            raise Duplicate("number", "the case is linked already")
        uow.session.add(AssetCase(asset_id=asset_id, case_id=case.id, created_at=uow.now()))
        await commit_unique(uow, Duplicate("number", "the case is linked already"))
        return AssetView(asset, await repository.asset_cases(uow.session, asset_id, access))
