"""Access inside the cases service, on SQLite and PostgreSQL: who sees which cases, on every path.

The canary: HR's cases carry ``KANARI-7f3a`` in subject, body, requester, a note and an
attachment name. An IT agent probes every read route the app has (enumerated from its routes,
so a new route is probed without touching this test) and must never meet the canary; an HR
agent running the same probe meets it.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.routing import BaseRoute, Route

from services.cases.app import create_app
from services.cases.models import Article, Case
from services.cases.settings import Settings
from shared.events.intake import Attachment, MessageReceived, Routing
from shared.runtime import Runtime
from shared.testing import publish, running, wait_for

CANARY = "KANARI-7f3a"
HR_WORD = "lønnsslipp"  # in HR's subjects and bodies, never in IT's: a search term that is no canary
HR_REQUESTER = "ingrid.berg@example.no"
NO_SUCH_CASE = "99999"
CORRELATION = {"X-Correlation-ID": "probe"}


def as_user(user_id: str, role: str = "agent") -> dict[str, str]:
    return {"X-Allsak-User": user_id, "X-Allsak-Role": role, **CORRELATION}


@dataclass
class Desk:
    """Two departments: HR's cases in queue HR (group hr), IT's in queue IT (group it)."""

    client: httpx.AsyncClient
    app: FastAPI
    runtime: Runtime
    users: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    hr_cases: list[str] = field(default_factory=list)
    it_cases: list[str] = field(default_factory=list)
    other_cases: list[str] = field(default_factory=list)

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(path, json=body)  # internal call: no identity
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def numbers(self, headers: dict[str, str] | None = None, **params: str) -> list[str]:
        response = await self.client.get("/api/v1/cases", params={"limit": "200", **params}, headers=headers)
        assert response.status_code == 200, response.text
        return [c["number"] for c in response.json()["items"]]

    def hr_values(self) -> list[str]:
        return [self.hr_cases[0], self.groups["hr"], self.queues["HR"], "HR", self.users["hr_agent"]]


async def build_desk(client: httpx.AsyncClient, app: FastAPI, runtime: Runtime) -> Desk:
    desk = Desk(client, app, runtime)
    for key in ("hr", "it"):
        desk.groups[key] = (await desk.post("/api/v1/groups", {"key": key, "name": key.upper()}))["id"]
        queue = await desk.post("/api/v1/queues", {"key": key.upper(), "group_id": desk.groups[key]})
        desk.queues[key.upper()] = queue["id"]
    for name, role, groups in (
        ("hr_agent", "agent", ["hr"]),
        ("hr_lead", "team_lead", ["hr"]),
        ("it_agent", "agent", ["it"]),
        ("it_lead", "team_lead", ["it"]),
        ("boss", "admin", []),
        ("loner", "agent", []),
    ):
        user = await desk.post("/api/v1/users", {"email": f"{name}@example.no", "name": name, "role": role})
        desk.users[name] = user["id"]
        for group in groups:
            await desk.post(f"/api/v1/groups/{desk.groups[group]}/members", {"user_id": user["id"]})

    for i in range(2):
        case = await desk.post(
            "/api/v1/cases",
            {
                "subject": f"{CANARY} Lønnsslipp {i} er feil",
                "requester": {"email": HR_REQUESTER, "name": f"{CANARY} Ingrid Berg"},
                "body_text": f"Min {HR_WORD} viser feil sats. Referanse {CANARY}.",
                "queue": "HR",
            },
        )
        desk.hr_cases.append(case["number"])
        await desk.post(
            f"/api/v1/cases/{case['number']}/articles",
            {"kind": "note", "body_text": f"Intern merknad om {CANARY}"},
        )
    await publish(
        runtime.transport,
        MessageReceived(
            id=str(uuid.uuid4()),
            channel="api",
            raw_sha256="0" * 64,
            sender_email=HR_REQUESTER,
            sender_name=f"{CANARY} Ingrid Berg",
            subject=f"Vedlegg til {HR_WORD}",
            text_body=f"Se vedlegg {CANARY}",
            forwarded_text=f"Videresendt {CANARY}",
            attachments=[
                Attachment(sha256="1" * 64, filename=f"{CANARY}.pdf", content_type="application/pdf", size=3)
            ],
            rfc_message_id=f"<{uuid.uuid4()}@example.no>",
            received_at=datetime.now(UTC),
            routing=Routing(queue="HR"),
        ),
    )
    mailed = await wait_for(lambda: _new_numbers(desk, known=set(desk.hr_cases)))
    desk.hr_cases += mailed

    for i, key in enumerate(("IT", "IT", "Servicedesk", "Legacy")):
        case = await desk.post(
            "/api/v1/cases",
            {
                "subject": f"Skriver {i} virker ikke",
                "requester": {"email": f"kunde{i}@example.no", "name": "Kunde"},
                "body_text": "Papirstopp",
                "queue": key,
            },
        )
        (desk.it_cases if key == "IT" else desk.other_cases).append(case["number"])
    return desk


async def _new_numbers(desk: Desk, *, known: set[str]) -> list[str]:
    return [n for n in await desk.numbers() if n not in known]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    return None if request.param == "sqlite" else pg_url_factory("cases")


@pytest.fixture
async def desk(tmp_path: Path, database_url: str | None) -> AsyncIterator[Desk]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    async with runtime:
        settings = Settings(data_dir=tmp_path, database_url=database_url, outbox_poll_seconds=0.05)
        app = create_app(settings, runtime)
        async with running(app) as client:
            yield await build_desk(client, app, runtime)


# --- the probe --------------------------------------------------------------------------------


def read_routes(app: FastAPI) -> list[tuple[str, list[str], list[str]]]:
    """Every GET route of the app: (path template, path parameters, query parameters).

    From the app's OpenAPI document, plus what its route table holds besides (routes left out of
    the document, ``/healthz``, ``/metrics``, the docs).
    """
    found: dict[str, tuple[list[str], list[str]]] = {}
    for path, item in app.openapi()["paths"].items():
        if "get" in item:
            params = item.get("parameters", []) + item["get"].get("parameters", [])
            found[path] = (
                [p["name"] for p in params if p["in"] == "path"],
                [p["name"] for p in params if p["in"] == "query"],
            )
    for route in all_routes(app.routes):
        if isinstance(route, Route) and "GET" in (route.methods or ()) and route.path not in found:
            query = query_names(route.dependant) if isinstance(route, APIRoute) else []
            found[route.path] = (list(route.param_convertors), query)
    return [(path, *params) for path, params in found.items()]


def all_routes(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes, with those of included routers (FastAPI keeps those behind a wrapper)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from all_routes(inner.routes)
        else:
            yield route


def query_names(dependant: Dependant) -> list[str]:
    """The query parameters of a route, its dependencies' included."""
    names = [param.alias for param in dependant.query_params]
    for dependency in dependant.dependencies:
        names += [name for name in query_names(dependency) if name not in names]
    return names


def probe_urls(
    routes: list[tuple[str, list[str], list[str]]], path_values: list[str], query_values: list[str]
) -> Iterator[tuple[str, str]]:
    """(route, url): each route with every filling of its path parameters by ``path_values``,
    without a query and with each query parameter set to each of ``query_values``."""
    for template, path_params, query_params in routes:
        for filling in itertools.product(path_values, repeat=len(path_params)):
            path = template
            for name, value in zip(path_params, filling, strict=True):
                path = path.replace(f"{{{name}}}", quote(value, safe="")).replace(
                    f"{{{name}:path}}", quote(value, safe="")
                )
            yield template, path
            for name in query_params:
                for value in query_values:
                    yield template, f"{path}?{urlencode({name: value})}"


async def canary_sightings(
    client: httpx.AsyncClient, urls: Iterator[tuple[str, str]], headers: dict[str, str]
) -> tuple[dict[str, int], set[str]]:
    """How often each route answered, and the routes whose answer (body or headers) held the canary."""
    answered: dict[str, int] = {}
    seen: set[str] = set()
    for template, url in urls:
        response = await client.get(url, headers=headers)
        answered[template] = answered.get(template, 0) + 1
        text = (response.text + " " + " ".join(f"{k}: {v}" for k, v in response.headers.items())).lower()
        if CANARY.lower() in text:
            seen.add(template)
    return answered, seen


def query_values(desk: Desk) -> list[str]:
    return ["HR", HR_WORD, HR_REQUESTER, "new", desk.hr_cases[0], str(int(max(desk.hr_cases)) + 1), "1"]


async def test_canary_it_agent_meets_no_hr_data_on_any_read_route(desk: Desk) -> None:
    routes = read_routes(desk.app)
    templates = {template for template, _, _ in routes}
    assert {"/api/v1/cases", "/api/v1/cases/{number}", "/api/v1/users/{user_id}"} <= templates
    path_values = [*desk.hr_values(), *await hr_ids(desk)]
    urls = probe_urls(routes, path_values, query_values(desk))
    answered, seen = await canary_sightings(desk.client, urls, as_user(desk.users["it_agent"]))
    assert seen == set(), f"HR's canary reached an IT agent through {sorted(seen)}"
    assert set(answered) == templates
    # The probe can see: the same routes, as HR, show HR's cases.
    urls = probe_urls(routes, path_values, query_values(desk))
    _, seen_by_hr = await canary_sightings(desk.client, urls, as_user(desk.users["hr_agent"]))
    assert {"/api/v1/cases", "/api/v1/cases/{number}"} <= seen_by_hr


async def hr_ids(desk: Desk) -> list[str]:
    """Database ids of an HR case, its requester and articles: for routes that take such ids."""
    async with desk.app.state.ctx.db.sessions() as session:
        cases = list(await session.scalars(select(Case).where(Case.queue == "HR")))
        articles = await session.scalars(select(Article.id).where(Article.case_id.in_([c.id for c in cases])))
        return [cases[0].id, cases[0].requester_id, *list(articles)[:2]]


async def test_a_hidden_case_is_answered_exactly_like_a_missing_one(desk: Desk) -> None:
    hr_case = desk.hr_cases[0]
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/v1/cases/{n}", None),
        ("PATCH", "/api/v1/cases/{n}", {"status": "closed", "queue": "IT"}),
        ("POST", "/api/v1/cases/{n}/articles", {"kind": "reply", "body_text": "Hei"}),
        ("POST", "/api/v1/cases/{n}/articles", {"kind": "note", "body_text": "Notat"}),
    ]
    for who in ("it_agent", "it_lead", "loner"):
        headers = as_user(desk.users[who], "team_lead" if who == "it_lead" else "agent")
        for method, path, body in calls:
            hidden = await desk.client.request(method, path.format(n=hr_case), json=body, headers=headers)
            missing = await desk.client.request(
                method, path.format(n=NO_SUCH_CASE), json=body, headers=headers
            )
            assert hidden.status_code == missing.status_code == 404
            assert hidden.content == missing.content == b'{"detail":"case not found"}'
            assert hidden.headers.items() == missing.headers.items()
    # Nothing was changed by those attempts.
    detail = (await desk.client.get(f"/api/v1/cases/{hr_case}")).json()
    assert detail["status"] == "new" and detail["queue"] == "HR" and len(detail["articles"]) == 2


async def test_who_sees_which_cases_in_the_list(desk: Desk) -> None:
    everything = sorted(desk.hr_cases + desk.it_cases + desk.other_cases, reverse=True)
    hr, it = sorted(desk.hr_cases, reverse=True), sorted(desk.it_cases, reverse=True)
    assert await desk.numbers() == everything
    assert await desk.numbers(as_user("admin", "admin")) == everything
    assert await desk.numbers(as_user(desk.users["boss"], "admin")) == everything
    assert await desk.numbers(as_user(desk.users["hr_agent"])) == hr
    assert await desk.numbers(as_user(desk.users["hr_lead"], "team_lead")) == hr
    assert await desk.numbers(as_user(desk.users["it_agent"])) == it
    assert await desk.numbers(as_user(desk.users["it_lead"], "team_lead")) == it
    for nobody in (
        as_user(desk.users["loner"]),
        as_user("ghost", "admin"),
        as_user(desk.users["it_agent"], "root"),
        {"X-Allsak-User": desk.users["it_agent"]},
        {"X-Allsak-Role": "admin"},
    ):
        assert await desk.numbers(nobody) == []
    # A forged or stale admin role counts no higher than the user's own.
    assert await desk.numbers(as_user(desk.users["it_agent"], "admin")) == it
    # Legacy (no queue row) is for admins; Servicedesk for its group, which nobody joined yet.
    legacy, servicedesk = desk.other_cases[1], desk.other_cases[0]
    it_agent = as_user(desk.users["it_agent"])
    for number in (legacy, servicedesk):
        assert (await desk.client.get(f"/api/v1/cases/{number}", headers=it_agent)).status_code == 404


async def test_filters_search_and_pages_stay_within_what_the_caller_sees(desk: Desk) -> None:
    it_agent = as_user(desk.users["it_agent"])
    assert await desk.numbers(it_agent, queue="HR") == []
    assert await desk.numbers(it_agent, q=HR_WORD) == []
    assert await desk.numbers(it_agent, q=CANARY) == []
    assert await desk.numbers(it_agent, requester=HR_REQUESTER) == []
    assert await desk.numbers(it_agent, status="new") == sorted(desk.it_cases, reverse=True)
    assert len(await desk.numbers(as_user(desk.users["hr_agent"]), q=CANARY)) == len(desk.hr_cases)
    seen: list[str] = []
    cursor: str | None = str(int(max(desk.hr_cases + desk.it_cases + desk.other_cases)) + 1)
    while cursor:
        params = {"limit": "1", "cursor": cursor}
        page = (await desk.client.get("/api/v1/cases", params=params, headers=it_agent)).json()
        seen += [c["number"] for c in page["items"]]
        cursor = page["next_cursor"]
        assert cursor is None or cursor in desk.it_cases
    assert seen == sorted(desk.it_cases, reverse=True)


async def test_membership_and_queue_changes_apply_at_once(desk: Desk) -> None:
    it_agent, hr_agent = as_user(desk.users["it_agent"]), as_user(desk.users["hr_agent"])
    # An IT agent hands a case on to HR: it leaves their sight and enters HR's.
    moved = desk.it_cases[0]
    response = await desk.client.patch(f"/api/v1/cases/{moved}", json={"queue": "HR"}, headers=it_agent)
    assert response.status_code == 200 and response.json()["queue"] == "HR"
    assert moved not in await desk.numbers(it_agent)
    assert moved in await desk.numbers(hr_agent)
    # Joining HR shows HR's cases; leaving hides them again.
    path = f"/api/v1/groups/{desk.groups['hr']}/members"
    await desk.post(path, {"user_id": desk.users["it_agent"]})
    assert set(desk.hr_cases) <= set(await desk.numbers(it_agent))
    await desk.client.delete(f"{path}/{desk.users['it_agent']}")
    assert not set(desk.hr_cases) & set(await desk.numbers(it_agent))
    # A deactivated user sees nothing, whatever their token says.
    await desk.client.patch(f"/api/v1/users/{desk.users['hr_agent']}", json={"active": False})
    assert await desk.numbers(hr_agent) == []
    hidden = await desk.client.get(f"/api/v1/cases/{desk.hr_cases[0]}", headers=hr_agent)
    assert hidden.status_code == 404


async def test_agents_register_cases_and_strangers_do_not(desk: Desk) -> None:
    body = {"subject": "Ny PC", "requester": {"email": "kunde9@example.no"}, "queue": "IT"}
    made = await desk.client.post("/api/v1/cases", json=body, headers=as_user(desk.users["it_agent"]))
    assert made.status_code == 201
    assert made.json()["number"] in await desk.numbers(as_user(desk.users["it_agent"]))
    # A phone call for HR, taken by IT: registered, and then out of IT's sight.
    for_hr = await desk.client.post(
        "/api/v1/cases", json={**body, "queue": "HR"}, headers=as_user(desk.users["it_agent"])
    )
    assert for_hr.status_code == 201
    assert for_hr.json()["number"] not in await desk.numbers(as_user(desk.users["it_agent"]))
    refused = await desk.client.post("/api/v1/cases", json=body, headers=as_user("ghost"))
    assert refused.status_code == 403


async def test_knowledge_routes_draw_only_on_cases_the_caller_sees(desk: Desk) -> None:
    hr_case = desk.hr_cases[0]
    solution = await desk.client.post(
        "/api/v1/standard-solutions",
        json={"title": "Svar", "body": "Hei {customer.name}, om sak {case.number}: {case.subject}"},
    )
    assert solution.status_code == 201, solution.text
    render = f"/api/v1/standard-solutions/{solution.json()['id']}/render"
    it_agent = as_user(desk.users["it_agent"])
    for path, body in (
        (render, {"case_number": hr_case}),
        (f"/api/v1/cases/{hr_case}/promote-solution", None),
    ):
        hidden = await desk.client.post(path, json=body, headers=it_agent)
        assert hidden.status_code == 404, hidden.text
        assert CANARY not in hidden.text
    seen = await desk.client.post(
        render, json={"case_number": hr_case}, headers=as_user(desk.users["hr_agent"])
    )
    assert seen.status_code == 200 and CANARY in seen.text
