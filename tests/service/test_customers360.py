"""Customers 360 on SQLite and PostgreSQL: the register, the 360 view, and who sees which cases in it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.cases.app import create_app
from services.cases.settings import Settings
from shared.runtime import Runtime
from shared.testing import running

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
CANARY = "KANARI-c360"


def as_user(user_id: str, role: str = "agent") -> dict[str, str]:
    return {"X-Allsak-User": user_id, "X-Allsak-Role": role}


@dataclass
class Desk:
    client: httpx.AsyncClient
    app: FastAPI
    users: dict[str, str] = field(default_factory=dict)

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        response = await self.client.post(path, json=body, headers=headers)  # no headers: internal
        assert response.status_code == 201, response.text
        return response.json()

    async def get(self, path: str, headers: dict[str, str] | None = None, **params: str) -> Any:
        response = await self.client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def case(self, queue: str, requester: str, subject: str) -> str:
        body = {"subject": subject, "requester": {"email": requester}, "queue": queue}
        return str((await self.post("/api/v1/cases", body))["number"])

    def lead(self) -> dict[str, str]:
        return as_user(self.users["it_lead"], "team_lead")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    return None if request.param == "sqlite" else pg_url_factory("cases")


@pytest.fixture
async def desk(tmp_path: Path, database_url: str | None) -> AsyncIterator[Desk]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url), runtime)
    async with runtime, running(app) as client:
        app.state.ctx.db.clock = lambda: NOW
        desk = Desk(client, app)
        for key in ("hr", "it"):
            group = await desk.post("/api/v1/groups", {"key": key, "name": key.upper()})
            await desk.post("/api/v1/queues", {"key": key.upper(), "group_id": group["id"]})
            for name, role in ((f"{key}_agent", "agent"), (f"{key}_lead", "team_lead")):
                user = await desk.post(
                    "/api/v1/users", {"email": f"{name}@example.no", "name": name, "role": role}
                )
                await desk.post(f"/api/v1/groups/{group['id']}/members", {"user_id": user["id"]})
                desk.users[name] = user["id"]
        yield desk


async def person(desk: Desk) -> tuple[dict[str, Any], dict[str, Any]]:
    """Oslo kommune with Kari, who writes from two addresses."""
    organisation = await desk.post(
        "/api/v1/organisations",
        {
            "name": "Oslo kommune",
            "number": "974778874",
            "domains": ["@Oslo.Kommune.no."],
            "address": "Rådhuset",
        },
        desk.lead(),
    )
    customer = await desk.post(
        "/api/v1/customers",
        {
            "email": "Kari.Nordmann@oslo.kommune.no",
            "name": "Kari Nordmann",
            "aliases": ["kari@privat.no"],
            "phone": "+47 22 00 00 00",
            "address": "Storgata 1, 0155 Oslo",
        },
        desk.lead(),
    )
    return organisation, customer


async def test_the_360_view_has_everything_around_the_person(desk: Desk) -> None:
    organisation, customer = await person(desk)
    assert customer["organisation_id"] == organisation["id"]  # by the mail domain
    assert organisation["domains"] == ["oslo.kommune.no"]
    agreements = {
        "org-gold": {
            "organisation_id": organisation["id"],
            "valid_from": "2026-01-01T00:00:00+01:00",
            "sla": "gold",
        },
        "own-old": {
            "customer_id": customer["id"],
            "valid_from": "2025-01-01T00:00:00Z",
            "valid_to": "2026-01-01T00:00:00Z",
            "sla": "silver",
        },
        "org-next": {
            "organisation_id": organisation["id"],
            "valid_from": "2027-01-01T00:00:00Z",
            "sla": "gold",
        },
    }
    for number, body in agreements.items():
        await desk.post("/api/v1/agreements", {"number": number, "name": number.title(), **body})
    laptop = await desk.post("/api/v1/products", {"code": "PC", "name": "Bærbar PC"})
    m365 = await desk.post("/api/v1/products", {"code": "M365", "name": "Microsoft 365", "kind": "service"})
    await desk.post(f"/api/v1/customers/{customer['id']}/products", {"product_id": laptop["id"]})
    await desk.post(f"/api/v1/organisations/{organisation['id']}/products", {"product_id": m365["id"]})
    asset = await desk.post(
        "/api/v1/assets",
        {"type": "laptop", "identifier": "SN-1", "name": "ThinkPad", "customer_id": customer["id"]},
    )
    numbers = [await desk.case("IT", "KARI@privat.no", f"Sak {i}") for i in range(13)]
    for number in numbers[:12]:
        response = await desk.client.patch(f"/api/v1/cases/{number}", json={"status": "closed"})
        assert response.status_code == 200, response.text

    view = await desk.get(f"/api/v1/customers/{customer['id']}", as_user(desk.users["it_agent"]))

    assert view["name"] == "Kari Nordmann" and view["phone"] == "+47 22 00 00 00"
    assert view["address"] == "Storgata 1, 0155 Oslo"
    assert [(a["email"], a["primary"]) for a in view["addresses"]] == [
        ("kari.nordmann@oslo.kommune.no", True),
        ("kari@privat.no", False),
    ]
    assert view["organisation"]["number"] == "974778874" and view["organisation"]["address"] == "Rådhuset"
    held = {a["number"]: (a["held_by"], a["valid_now"]) for a in view["agreements"]}
    assert held == {
        "org-gold": ("organisation", True),
        "own-old": ("customer", False),
        "org-next": ("organisation", False),
    }
    assert {(p["code"], p["held_by"]) for p in view["products"]} == {
        ("PC", "customer"),
        ("M365", "organisation"),
    }
    assert [a["identifier"] for a in view["assets"]] == [asset["identifier"]]
    assert [c["number"] for c in view["open_cases"]] == [numbers[12]]
    assert len(view["recent_closed_cases"]) == 10
    assert {c["status"] for c in view["recent_closed_cases"]} == {"closed"}


async def test_a_customer_is_found_by_any_of_their_addresses(desk: Desk) -> None:
    _, customer = await person(desk)
    for email in ("KARI@Privat.no", " kari.nordmann@oslo.kommune.no"):
        found = await desk.get("/api/v1/customers", as_user(desk.users["hr_agent"]), email=email)
        assert [c["id"] for c in found["items"]] == [customer["id"]]
    assert (await desk.get("/api/v1/customers", email="nobody@privat.no"))["items"] == []
    # A case from an alias lands on the same person.
    number = await desk.case("IT", "kari@privat.no", "Skriver")
    view = await desk.get(f"/api/v1/customers/{customer['id']}")
    assert [c["number"] for c in view["open_cases"]] == [number]


async def test_an_agent_sees_a_person_they_share_a_case_with_and_only_their_own_cases(desk: Desk) -> None:
    _, customer = await person(desk)
    hr_case = await desk.case("HR", "kari@privat.no", f"{CANARY} Lønnsslipp")
    it_case = await desk.case("IT", "kari@privat.no", "Ny mus")
    path = f"/api/v1/customers/{customer['id']}"

    it_view = await desk.client.get(path, headers=as_user(desk.users["it_agent"]))
    assert it_view.status_code == 200 and it_view.json()["name"] == "Kari Nordmann"
    assert [c["number"] for c in it_view.json()["open_cases"]] == [it_case]
    assert CANARY not in it_view.text and hr_case not in [c["number"] for c in it_view.json()["open_cases"]]

    hr_view = await desk.get(path, as_user(desk.users["hr_agent"]))
    assert [c["number"] for c in hr_view["open_cases"]] == [hr_case]
    # All of their cases hidden: the requester of a confidential case is part of it, so the
    # person is answered like a missing one, in the 360 view and in the lookup by address.
    only_hr = await desk.post("/api/v1/customers", {"email": "per@privat.no", "name": "Per"})
    it_agent = as_user(desk.users["it_agent"])
    assert (await desk.client.get(f"/api/v1/customers/{only_hr['id']}", headers=it_agent)).status_code == 200
    await desk.case("HR", "per@privat.no", f"{CANARY} Permisjon")
    per = await desk.client.get(f"/api/v1/customers/{only_hr['id']}", headers=it_agent)
    missing = await desk.client.get("/api/v1/customers/nobody", headers=it_agent)
    assert per.status_code == missing.status_code == 404 and per.content == missing.content
    found = await desk.client.get("/api/v1/customers", params={"email": "per@privat.no"}, headers=it_agent)
    assert found.json()["items"] == []
    hr_found = await desk.client.get(
        "/api/v1/customers", params={"email": "per@privat.no"}, headers=as_user(desk.users["hr_agent"])
    )
    assert [c["id"] for c in hr_found.json()["items"]] == [only_hr["id"]]
    # A stranger finds nobody, exactly like a missing customer.
    stranger = await desk.client.get(path, headers=as_user("ghost"))
    assert stranger.status_code == missing.status_code == 404
    assert stranger.content == missing.content


async def test_assets_link_cases_the_caller_sees(desk: Desk) -> None:
    _, customer = await person(desk)
    asset = await desk.post(
        "/api/v1/assets",
        {"type": "printer", "identifier": "PRN-7", "name": "Skriver 3. etg", "location": "Rom 301"},
        desk.lead(),
    )
    it_case = await desk.case("IT", "kari@privat.no", "Papirstopp")
    hr_case = await desk.case("HR", "kari@privat.no", f"{CANARY} Lønn")
    link = f"/api/v1/assets/{asset['id']}/cases"
    linked = await desk.post(link, {"number": it_case}, desk.lead())
    assert [c["number"] for c in linked["cases"]] == [it_case]

    hidden = await desk.client.post(link, json={"number": hr_case}, headers=desk.lead())
    missing = await desk.client.post(link, json={"number": "99999"}, headers=desk.lead())
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content
    again = await desk.client.post(link, json={"number": it_case}, headers=desk.lead())
    assert again.status_code == 409
    agent = await desk.client.post(link, json={"number": it_case}, headers=as_user(desk.users["it_agent"]))
    assert agent.status_code == 403
    # HR links its case too; IT does not see it on the asset, HR does not see IT's.
    await desk.post(link, {"number": hr_case}, as_user(desk.users["hr_lead"], "team_lead"))
    it_asset = await desk.client.get(f"/api/v1/assets/{asset['id']}", headers=as_user(desk.users["it_agent"]))
    assert [c["number"] for c in it_asset.json()["cases"]] == [it_case] and CANARY not in it_asset.text
    hr_asset = await desk.get(f"/api/v1/assets/{asset['id']}", as_user(desk.users["hr_agent"]))
    assert [c["number"] for c in hr_asset["cases"]] == [hr_case]

    moved = await desk.client.patch(
        f"/api/v1/assets/{asset['id']}",
        json={"location": "Rom 302", "customer_id": customer["id"]},
        headers=desk.lead(),
    )
    assert moved.status_code == 200 and moved.json()["location"] == "Rom 302"
    listed = await desk.get("/api/v1/assets", customer_id=customer["id"])
    assert [a["identifier"] for a in listed["items"]] == ["PRN-7"]


def field_of(response: httpx.Response) -> list[Any]:
    assert response.status_code == 422, response.text
    return [error["loc"][-1] for error in response.json()["detail"]]


async def test_bad_input_is_refused_naming_the_field(desk: Desk) -> None:
    organisation, customer = await person(desk)
    agreement = {"number": "A-1", "name": "Avtale", "customer_id": customer["id"], "sla": "gold"}
    post = desk.client.post
    backwards = {**agreement, "valid_from": "2026-02-01T00:00:00Z", "valid_to": "2026-01-01T00:00:00Z"}
    assert field_of(await post("/api/v1/agreements", json=backwards)) == ["valid_to"]
    both = {**agreement, "organisation_id": organisation["id"], "valid_from": "2026-01-01T00:00:00Z"}
    assert field_of(await post("/api/v1/agreements", json=both)) == ["organisation_id"]
    naive = {**agreement, "valid_from": "2026-01-01T00:00:00"}
    assert field_of(await post("/api/v1/agreements", json=naive)) == ["valid_from"]
    unknown = {"email": "ola@privat.no", "organisation_id": "nope"}
    assert field_of(await post("/api/v1/customers", json=unknown)) == ["organisation_id"]
    assert field_of(await post("/api/v1/organisations", json={"name": "X", "domains": ["not a domain"]})) == [
        "domains"
    ]
    assert field_of(await desk.client.get("/api/v1/customers", params={"cursor": "zz"})) == ["cursor"]

    await desk.post("/api/v1/agreements", {**agreement, "valid_from": "2026-01-01T00:00:00Z"})
    conflicts = [
        ("/api/v1/agreements", {**agreement, "valid_from": "2026-01-01T00:00:00Z"}),
        ("/api/v1/customers", {"email": "ola@privat.no", "aliases": ["KARI@privat.no"]}),
        ("/api/v1/customers", {"email": "kari@privat.no"}),
        ("/api/v1/organisations", {"name": "Kopi", "domains": ["oslo.kommune.no"]}),
        ("/api/v1/organisations", {"name": "Kopi", "number": "974778874"}),
        ("/api/v1/products", {"code": "PC", "name": "PC"}),
        ("/api/v1/products", {"code": "PC", "name": "PC"}),
    ]
    await desk.post("/api/v1/assets", {"type": "pc", "identifier": "SN-9", "name": "PC"})
    conflicts.append(("/api/v1/assets", {"type": "pc", "identifier": "SN-9", "name": "PC"}))
    statuses = [(await post(path, json=body)).status_code for path, body in conflicts]
    assert statuses == [409, 409, 409, 409, 409, 201, 409, 409]
    other = await desk.post("/api/v1/customers", {"email": "ola@privat.no"})
    taken = await desk.client.patch(f"/api/v1/customers/{other['id']}", json={"aliases": ["kari@privat.no"]})
    assert taken.status_code == 409


async def test_agents_read_and_team_leads_write(desk: Desk) -> None:
    agent, hr_lead = as_user(desk.users["it_agent"]), as_user(desk.users["hr_lead"], "team_lead")
    body = {"name": "Bergen kommune", "domains": ["bergen.kommune.no"]}
    assert (await desk.client.post("/api/v1/organisations", json=body, headers=agent)).status_code == 403
    # A lead's token does not outrank the user: an agent sending "team_lead" is still an agent.
    forged = as_user(desk.users["it_agent"], "team_lead")
    assert (await desk.client.post("/api/v1/organisations", json=body, headers=forged)).status_code == 403
    made = await desk.post("/api/v1/organisations", body, hr_lead)
    renamed = await desk.client.patch(
        f"/api/v1/organisations/{made['id']}", json={"name": "Bergen"}, headers=hr_lead
    )
    assert renamed.status_code == 200 and renamed.json()["domains"] == ["bergen.kommune.no"]
    assert (await desk.get(f"/api/v1/organisations/{made['id']}", agent))["name"] == "Bergen"
    assert (await desk.client.get("/api/v1/organisations", headers=as_user("ghost"))).status_code == 403
    for i in range(3):
        await desk.post("/api/v1/products", {"code": f"P{i}", "name": f"Produkt {i}"}, hr_lead)
    first = await desk.get("/api/v1/products", agent, limit="2")
    rest = await desk.get("/api/v1/products", agent, limit="2", cursor=first["next_cursor"])
    assert [p["code"] for p in first["items"] + rest["items"]] == ["P0", "P1", "P2"]
    assert rest["next_cursor"] is None
