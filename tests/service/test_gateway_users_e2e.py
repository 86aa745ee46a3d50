"""End to end in the embedded mode (every service, one process, internal token on): an admin sets
up HR and IT, issues each agent a token, and each agent sees their own queues only, through
the API (every route the gateway forwards to cases, from the public OpenAPI document) and through the pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from allsak.embedded import embedded
from allsak.services import NAMES
from services.gateway.proxy import owner
from tests.service.test_cases_access import CANARY, HR_REQUESTER, HR_WORD, canary_sightings, probe_urls

ADMIN = "e2e-access-admin-token-0123456789abcdef"
INTERNAL = "e2e-access-internal-token"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Org:
    api: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    cases: dict[str, list[str]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    async def post(self, path: str, body: dict[str, Any], token: str = ADMIN) -> dict[str, Any]:
        response = await self.api.post(path, json=body, headers=auth(token))
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def numbers(self, token: str, **params: str) -> list[str]:
        response = await self.api.get("/api/v1/cases", params=params, headers=auth(token))
        assert response.status_code == 200, response.text
        return sorted(c["number"] for c in response.json()["items"])


@pytest.fixture
async def org(tmp_path: Path) -> AsyncIterator[Org]:
    overrides: dict[str, dict[str, Any]] = {name: {"internal_token": INTERNAL} for name in NAMES}
    overrides["gateway"]["admin_token"] = ADMIN
    async with embedded(tmp_path, **overrides) as apps:
        transport = httpx.ASGITransport(app=apps["gateway"])
        async with httpx.AsyncClient(transport=transport, base_url="http://allsak") as api:
            org = Org(api)
            for key in ("hr", "it"):
                group = await org.post("/api/v1/groups", {"key": key, "name": key.upper()})
                await org.post("/api/v1/queues", {"key": key.upper(), "group_id": group["id"]})
                user = await org.post("/api/v1/users", {"email": f"{key}@example.no", "name": key})
                await org.post(f"/api/v1/groups/{group['id']}/members", {"user_id": user["id"]})
                org.ids[key] = user["id"]
                org.tokens[key] = (await org.post(f"/api/v1/users/{user['id']}/tokens", {"name": "laptop"}))[
                    "token"
                ]
            hr = {"requester": {"email": HR_REQUESTER, "name": f"{CANARY} Berg"}, "queue": "HR"}
            org.cases["hr"] = [
                (
                    await org.post(
                        "/api/v1/cases", {**hr, "subject": f"{CANARY} {HR_WORD}", "body_text": CANARY}
                    )
                )["number"]
            ]
            it = {"requester": {"email": "kunde@example.no"}, "queue": "IT", "subject": "Skriver"}
            org.cases["it"] = [(await org.post("/api/v1/cases", it, token=org.tokens["it"]))["number"]]
            yield org


async def test_an_agent_token_sees_only_the_cases_of_their_queues(org: Org) -> None:
    assert await org.numbers(org.tokens["it"]) == org.cases["it"]
    assert await org.numbers(org.tokens["hr"]) == org.cases["hr"]
    assert await org.numbers(ADMIN) == sorted(org.cases["hr"] + org.cases["it"])
    assert await org.numbers(org.tokens["it"], q=HR_WORD) == []
    hidden = await org.api.get(f"/api/v1/cases/{org.cases['hr'][0]}", headers=auth(org.tokens["it"]))
    missing = await org.api.get("/api/v1/cases/99999", headers=auth(org.tokens["it"]))
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content
    patched = await org.api.patch(
        f"/api/v1/cases/{org.cases['hr'][0]}", json={"status": "closed"}, headers=auth(org.tokens["it"])
    )
    assert patched.status_code == 404 and patched.content == missing.content
    # An agent's token creates no users.
    refused = await org.api.post(
        "/api/v1/users", json={"email": "x@example.no", "name": "x"}, headers=auth(org.tokens["it"])
    )
    assert refused.status_code == 403


async def test_no_cases_route_of_the_public_api_shows_hr_data_to_it(org: Org) -> None:
    document = (await org.api.get("/api/v1/openapi.json")).json()
    routes = []
    for path, item in document["paths"].items():
        get = item.get("get")
        if get is None or owner(path) != "cases":
            continue
        params = item.get("parameters", []) + get.get("parameters", [])
        routes.append(
            (
                path,
                [p["name"] for p in params if p["in"] == "path"],
                [p["name"] for p in params if p["in"] == "query"],
            )
        )
    assert {"/api/v1/cases", "/api/v1/cases/{number}"} <= {r[0] for r in routes}
    values = [org.cases["hr"][0], org.ids["hr"]]
    queries = ["HR", HR_WORD, HR_REQUESTER, "new", org.cases["hr"][0]]
    _, seen = await canary_sightings(org.api, probe_urls(routes, values, queries), auth(org.tokens["it"]))
    assert seen == set()
    _, seen = await canary_sightings(org.api, probe_urls(routes, values, queries), auth(org.tokens["hr"]))
    assert {"/api/v1/cases", "/api/v1/cases/{number}"} <= seen


async def test_the_pages_show_an_agent_their_queues_only(org: Org) -> None:
    login = await org.api.post("/login", data={"token": org.tokens["it"]})
    assert login.status_code == 303
    cookie = {"Cookie": f"allsak_session={login.cookies['allsak_session']}"}
    listing = await org.api.get("/cases", headers=cookie)
    assert listing.status_code == 200
    assert f"/cases/{org.cases['it'][0]}" in listing.text and CANARY not in listing.text
    hr_page = await org.api.get(f"/cases/{org.cases['hr'][0]}", headers=cookie)
    assert hr_page.status_code == 404 and CANARY not in hr_page.text


async def test_an_agent_token_reaches_no_service_that_would_show_other_queues(org: Org) -> None:
    it = auth(org.tokens["it"])
    for path in (
        "/api/v1/webhooks",
        "/api/v1/mailboxes",
        "/api/v1/intake/quarantine",
        "/api/v1/outgoing-mail",
    ):
        refused = await org.api.get(path, headers=it)
        assert refused.status_code == 403, (path, refused.text)
        assert (await org.api.get(path, headers=auth(ADMIN))).status_code == 200, path
    hook = {"url": "https://example.org/hook", "events": ["cases.#"]}
    assert (await org.api.post("/api/v1/webhooks", json=hook, headers=it)).status_code == 403
    assert (await org.api.get("/api/v1/reports/kpis", headers=it)).status_code == 403
