"""Knowledge through the cases app, on SQLite and on PostgreSQL: KB articles, the FAQ, promoting
a case's solution, the info board and standard solutions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.cases.app import create_app
from services.cases.models import Organisation
from services.cases.settings import Settings
from shared.runtime import Runtime
from shared.testing import running

KB = "/api/v1/kb/articles"
BOARD = "/api/v1/info-board"
SOLUTIONS = "/api/v1/standard-solutions"
CUSTOMER = {"X-Allsak-User": "portal-user", "X-Allsak-Role": "customer"}
REPLY = {"kind": "reply", "body_text": "Hei Kari,\n\nOppdater VPN-klienten til 5.2.\nDa holder forbindelsen."}


class Harness:
    def __init__(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        self.client = client
        self.app = app

    async def kb(self, **fields: Any) -> dict[str, Any]:
        response = await self.client.post(KB, json={"title": "Tittel", "body_html": "<p>Tekst</p>", **fields})
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def published(self, **fields: Any) -> dict[str, Any]:
        article = await self.kb(**fields)
        response = await self.client.post(f"{KB}/{article['id']}/publish")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def case(self, *, status: str | None, articles: list[dict[str, Any]]) -> str:
        created = await self.client.post(
            "/api/v1/cases",
            json={
                "subject": "VPN kobler ned hver time",
                "requester": {"email": "kari@kunde.no", "name": "Kari Nordmann"},
                "body_text": "VPN faller ut.",
            },
        )
        assert created.status_code == 201, created.text
        number = str(created.json()["number"])
        for article in articles:
            added = await self.client.post(f"/api/v1/cases/{number}/articles", json=article)
            assert added.status_code == 201, added.text
        if status:
            patched = await self.client.patch(f"/api/v1/cases/{number}", json={"status": status})
            assert patched.status_code == 200, patched.text
        return number

    async def organisation(self, name: str) -> str:
        db = self.app.state.ctx.db
        async with db.uow() as uow:
            organisation = Organisation(id=str(uuid.uuid4()), name=name, domains=[], created_at=uow.now())
            uow.session.add(organisation)
            await uow.commit()
        return organisation.id

    async def all_pages(self, path: str, **params: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await self.client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200, page.text
            items += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if not cursor:
                return items


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    return None if request.param == "sqlite" else pg_url_factory("cases")


@pytest.fixture
async def h(tmp_path: Path, database_url: str | None) -> AsyncIterator[Harness]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    async with runtime:
        app = create_app(Settings(data_dir=tmp_path, database_url=database_url), runtime)
        async with running(app) as client:
            yield Harness(client, app)


def titles(items: list[dict[str, Any]]) -> list[str]:
    return [item["title"] for item in items]


def error_locs(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 422, response.text
    return [error["loc"] for error in response.json()["detail"]]


# ---- KB articles ----


async def test_kb_article_is_sanitised_versioned_published_and_archived(h: Harness) -> None:
    created = await h.client.post(
        KB,
        json={
            "title": "VPN hjemmefra",
            "body_html": '<p onclick="x()">Start <b>klienten</b><script>steal()</script></p><ul><li>Logg inn</li></ul>',
            "tags": [" VPN ", "vpn", "Hjemme  kontor"],
            "category": "Nettverk",
        },
        headers={"X-Allsak-User": "agent-1"},
    )
    assert created.status_code == 201, created.text
    article = created.json()
    assert article["body_html"] == "<p>Start <b>klienten</b></p><ul><li>Logg inn</li></ul>"
    assert article["body_text"] == "Start klienten\n- Logg inn"
    assert article["tags"] == ["hjemme kontor", "vpn"]
    assert (article["status"], article["visibility"], article["lang"]) == ("draft", "internal", "nb")
    assert (article["version"], article["author"], article["published_at"]) == (1, "agent-1", None)
    assert created.headers["etag"] == '"1"'
    url = f"{KB}/{article['id']}"

    got = await h.client.get(url)
    assert got.json() == article and got.headers["etag"] == '"1"'

    edited = await h.client.patch(
        url, json={"title": "VPN fra hjemmekontor", "tags": ["vpn"]}, headers={"If-Match": '"1"'}
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["tags"], edited.headers["etag"]) == (2, ["vpn"], '"2"')
    stale = await h.client.patch(url, json={"title": "Overskrevet"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and "version 2" in stale.json()["detail"]
    same = await h.client.patch(url, json={"title": "VPN fra hjemmekontor", "category": "Nettverk"})
    assert same.json()["version"] == 2

    assert error_locs(await h.client.patch(url, json={"title": None})) == [["body", "title"]]
    assert error_locs(await h.client.patch(url, json={"status": "published"})) == [["body", "status"]]
    assert error_locs(await h.client.post(KB, json={"title": "x", "lang": "sv"})) == [["body", "lang"]]

    published = await h.client.post(f"{url}/publish")
    assert published.json()["status"] == "published" and published.json()["published_at"]
    again = await h.client.post(f"{url}/publish")
    assert again.status_code == 200 and again.json()["published_at"] == published.json()["published_at"]
    archived = await h.client.post(f"{url}/archive")
    assert archived.json()["status"] == "archived"
    assert archived.json()["published_at"] == published.json()["published_at"]
    assert archived.json()["version"] == 2  # status changes are not edits


async def test_kb_article_without_text_cannot_be_published_and_unknown_ids_are_404(h: Harness) -> None:
    empty = await h.kb(body_html="<script>only this</script>")
    refused = await h.client.post(f"{KB}/{empty['id']}/publish")
    assert (
        refused.status_code == 409
        and refused.json()["detail"] == "an article without text cannot be published"
    )
    missing = f"{KB}/{uuid.uuid4()}"
    for response in [
        await h.client.get(missing),
        await h.client.patch(missing, json={"title": "x"}),
        await h.client.post(f"{missing}/publish"),
        await h.client.post(f"{missing}/archive"),
    ]:
        assert response.status_code == 404 and response.json()["detail"] == "knowledge article not found"


async def test_kb_list_filters_pages_and_hides_internal_articles_from_customers(h: Harness) -> None:
    await h.kb(title="Skriver nb", category="Skriver", tags=["papir"])
    await h.kb(title="Printer en", category="Skriver", lang="en", visibility="public")
    internal = await h.published(title="Passord intern", category="Konto", tags=["papir", "sso"])
    await h.published(
        title="Passord offentlig", category="Konto", visibility="public", body_html="<p>Bytt passordet</p>"
    )
    await h.kb(title="VPN", category="Nettverk", visibility="public")

    async def listed(**params: str) -> list[str]:
        return sorted(titles(await h.all_pages(KB, **params)))

    assert await listed(limit="2") == [
        "Passord intern",
        "Passord offentlig",
        "Printer en",
        "Skriver nb",
        "VPN",
    ]
    assert await listed(status="published") == ["Passord intern", "Passord offentlig"]
    assert await listed(category="Skriver") == ["Printer en", "Skriver nb"]
    assert await listed(tag="PAPIR") == ["Passord intern", "Skriver nb"]
    assert await listed(lang="en") == ["Printer en"]
    assert await listed(visibility="internal") == ["Passord intern", "Skriver nb"]
    assert await listed(q="bytt passord") == ["Passord offentlig"]
    newest_first = titles((await h.client.get(KB)).json()["items"])
    assert newest_first == ["VPN", "Passord offentlig", "Passord intern", "Printer en", "Skriver nb"]

    bad = await h.client.get(KB, params={"cursor": "tull"})
    assert error_locs(bad) == [["query", "cursor"]]
    assert error_locs(await h.client.get(KB, params={"status": "deleted"})) == [["query", "status"]]

    as_customer = (await h.client.get(KB, headers=CUSTOMER)).json()["items"]
    assert {a["visibility"] for a in as_customer} == {"public"} and len(as_customer) == 3
    asked_internal = (await h.client.get(KB, params={"visibility": "internal"}, headers=CUSTOMER)).json()
    assert asked_internal["items"] == []
    assert (await h.client.get(f"{KB}/{internal['id']}", headers=CUSTOMER)).status_code == 404
    assert (await h.client.post(KB, json={"title": "x"}, headers=CUSTOMER)).status_code == 403
    assert (await h.client.post(f"{KB}/{internal['id']}/archive", headers=CUSTOMER)).status_code == 403


async def test_faq_shows_published_public_articles_by_category_and_title(h: Harness) -> None:
    await h.published(title="Hvordan bytter jeg passord?", category="Konto", visibility="public")
    await h.published(title="Glemt brukernavn", category="Konto", visibility="public")
    await h.published(title="Skriveren er tom for papir", category="Skriver", visibility="public")
    await h.published(title="How do I reset my password?", category="Konto", visibility="public", lang="en")
    await h.published(title="Generelt om tjenesten", visibility="public")
    await h.published(title="Intern rutine", category="Konto")  # internal
    await h.kb(title="Utkast", category="Konto", visibility="public")  # draft
    old = await h.published(title="Gammelt svar", category="Konto", visibility="public")
    await h.client.post(f"{KB}/{old['id']}/archive")

    faq = await h.all_pages("/api/v1/kb/faq", lang="nb", limit="2")
    assert titles(faq) == [
        "Generelt om tjenesten",
        "Glemt brukernavn",
        "Hvordan bytter jeg passord?",
        "Skriveren er tom for papir",
    ]
    assert set(faq[0]) == {
        "id",
        "title",
        "body_html",
        "lang",
        "category",
        "tags",
        "published_at",
        "updated_at",
    }
    konto = await h.all_pages("/api/v1/kb/faq", category="Konto")
    assert titles(konto) == ["Glemt brukernavn", "How do I reset my password?", "Hvordan bytter jeg passord?"]
    assert titles(await h.all_pages("/api/v1/kb/faq", lang="en")) == ["How do I reset my password?"]
    assert len(await h.all_pages("/api/v1/kb/faq", limit="1")) == 5


async def test_concurrent_edits_of_one_version_and_promotions_of_one_solution(h: Harness) -> None:
    article = await h.kb()
    url = f"{KB}/{article['id']}"
    edits = await asyncio.gather(
        *(h.client.patch(url, json={"title": f"Tittel {i}"}, headers={"If-Match": '"1"'}) for i in range(4))
    )
    assert sorted(r.status_code for r in edits) == [200, 412, 412, 412]
    assert (await h.client.get(url)).json()["version"] == 2

    number = await h.case(status="resolved", articles=[REPLY])
    promotions = await asyncio.gather(
        *(h.client.post(f"/api/v1/cases/{number}/promote-solution") for _ in range(4))
    )
    assert sorted(r.status_code for r in promotions) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in promotions}) == 1


# ---- promoting a case's solution ----


async def test_promote_solution_drafts_the_last_public_reply_once(h: Harness) -> None:
    number = await h.case(
        status="resolved",
        articles=[
            {"kind": "reply", "body_text": "Vi ser på det."},
            REPLY,
            {"kind": "note", "body_text": "Intern: kunden har gammel klient"},
        ],
    )
    # The bootstrap admin: a caller who sees every queue, named in the draft as its author.
    promoted = await h.client.post(
        f"/api/v1/cases/{number}/promote-solution",
        headers={"X-Allsak-User": "admin", "X-Allsak-Role": "admin"},
    )
    assert promoted.status_code == 201, promoted.text
    draft = promoted.json()
    assert (
        draft["body_html"]
        == "<p>Hei Kari,</p><p>Oppdater VPN-klienten til 5.2.<br>Da holder forbindelsen.</p>"
    )
    assert draft["body_text"] == "Hei Kari,\nOppdater VPN-klienten til 5.2.\nDa holder forbindelsen."
    assert (draft["status"], draft["visibility"], draft["source_case_number"]) == (
        "draft",
        "internal",
        number,
    )
    assert (draft["title"], draft["author"], draft["version"]) == ("VPN kobler ned hver time", "admin", 1)

    again = await h.client.post(f"/api/v1/cases/{number}/promote-solution")
    assert again.status_code == 200 and again.json()["id"] == draft["id"]
    assert [a["id"] for a in (await h.client.get(KB, params={"status": "draft"})).json()["items"]] == [
        draft["id"]
    ]


async def test_promote_solution_of_a_closed_case_takes_title_and_category_given(h: Harness) -> None:
    number = await h.case(status="closed", articles=[REPLY])
    promoted = await h.client.post(
        f"/api/v1/cases/{number}/promote-solution",
        json={"title": "VPN faller ut", "category": "Nettverk", "tags": ["VPN"], "lang": "nb"},
    )
    assert promoted.status_code == 201, promoted.text
    assert (promoted.json()["title"], promoted.json()["category"], promoted.json()["tags"]) == (
        "VPN faller ut",
        "Nettverk",
        ["vpn"],
    )
    assert error_locs(
        await h.client.post(f"/api/v1/cases/{number}/promote-solution", json={"lang": "de"})
    ) == [["body", "lang"]]


async def test_promote_solution_refuses_a_case_that_is_not_resolved(h: Harness) -> None:
    number = await h.case(status="open", articles=[REPLY])
    refused = await h.client.post(f"/api/v1/cases/{number}/promote-solution")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"case {number} is open: only a resolved or closed case has a solution to promote"
    )
    assert (await h.client.get(KB)).json()["items"] == []


async def test_promote_solution_refuses_a_case_without_a_public_reply(h: Harness) -> None:
    number = await h.case(
        status="resolved",
        articles=[
            {"kind": "note", "body_text": "Løst på telefon"},
            {"kind": "reply", "body_text": "Kun internt", "internal": True},
        ],
    )
    refused = await h.client.post(f"/api/v1/cases/{number}/promote-solution")
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"case {number} has no public reply to promote"
    for unknown in ("99999", "abc"):
        response = await h.client.post(f"/api/v1/cases/{unknown}/promote-solution")
        assert response.status_code == 404 and response.json()["detail"] == "case not found"


# ---- info board ----


async def board(h: Harness, **params: str) -> list[str]:
    return titles(await h.all_pages(BOARD, **params))


async def post_entry(h: Harness, title: str, **fields: Any) -> dict[str, Any]:
    response = await h.client.post(BOARD, json={"title": title, "kind": "news", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_info_board_shows_what_is_valid_at_a_time_for_an_audience(h: Harness) -> None:
    org = await h.organisation("Bygdøy skole")
    outage = await post_entry(
        h,
        "Utskrift nede",
        kind="known_problem",
        body_html="<p>Vi jobber med saken<img src=x onerror=alert(1)></p>",
        valid_from="2026-03-02T08:00:00+01:00",
        valid_to="2026-03-02T16:00:00+01:00",
    )
    assert (
        outage["body_html"] == "<p>Vi jobber med saken<img></p>"
        and outage["body_text"] == "Vi jobber med saken"
    )
    assert outage["valid_from"].startswith("2026-03-02T07:00:00")
    await post_entry(h, "Ny portal", audience="customers", valid_from="2026-03-01T00:00:00Z")
    await post_entry(
        h, "Vaktbytte", audience="agents", valid_from="2026-03-02T12:00:00Z", valid_to="2026-03-03T00:00:00Z"
    )
    await post_entry(
        h,
        "Skolens nett",
        audience="customers",
        organisation_ids=[org, org],
        valid_from="2026-03-02T00:00:00Z",
    )

    morning = "2026-03-02T07:30:00Z"
    assert await board(h, audience="customers", at=morning) == ["Utskrift nede", "Ny portal"]
    assert await board(h, audience="customers", at=morning, organisation=org) == [
        "Utskrift nede",
        "Skolens nett",
        "Ny portal",
    ]
    assert await board(h, audience="everyone", at=morning) == ["Utskrift nede"]
    # 16:00 in Oslo is 15:00 UTC and 20:00 at +05:00: the outage has just ended.
    assert await board(h, audience="agents", at="2026-03-02T20:00:00+05:00") == [
        "Vaktbytte",
        "Skolens nett",
        "Ny portal",
    ]
    assert await board(h, audience="agents", at="2026-03-02T19:59:59+05:00", limit="1") == [
        "Vaktbytte",
        "Utskrift nede",
        "Skolens nett",
        "Ny portal",
    ]
    assert await board(h, at="2026-02-28T00:00:00Z") == []
    assert len(await board(h)) == 4
    assert await board(h, kind="known_problem") == ["Utskrift nede"]
    assert await board(h, audience="agents", at=morning) == ["Utskrift nede", "Skolens nett", "Ny portal"]

    customer = (
        await h.client.get(BOARD, params={"audience": "agents", "at": morning}, headers=CUSTOMER)
    ).json()
    assert titles(customer["items"]) == ["Utskrift nede", "Ny portal"]
    assert error_locs(await h.client.get(BOARD, params={"at": "2026-03-02T07:30:00"})) == [["query", "at"]]


async def test_info_board_validity_and_organisations_are_checked(h: Harness) -> None:
    org = await h.organisation("Kommunen")
    reversed_ = await h.client.post(
        BOARD,
        json={
            "title": "Feil vei",
            "kind": "news",
            "valid_from": "2026-03-02T10:00:00+01:00",
            "valid_to": "2026-03-02T09:00:00Z",  # the same instant: an empty window
        },
    )
    assert error_locs(reversed_) == [["body", "valid_to"]]
    assert reversed_.json()["detail"][0]["msg"] == "must be after valid_from"
    past = await h.client.post(
        BOARD, json={"title": "Utløpt", "kind": "news", "valid_to": "2020-01-01T00:00:00Z"}
    )
    assert error_locs(past) == [["body", "valid_to"]]
    naive = await h.client.post(
        BOARD, json={"title": "x", "kind": "news", "valid_from": "2026-03-02T10:00:00"}
    )
    assert error_locs(naive) == [["body", "valid_from"]]
    unknown = await h.client.post(BOARD, json={"title": "x", "kind": "news", "organisation_ids": ["nope"]})
    assert error_locs(unknown) == [["body", "organisation_ids"]]
    assert error_locs(await h.client.post(BOARD, json={"title": "x", "kind": "rumour"})) == [["body", "kind"]]

    entry = await post_entry(
        h, "Vedlikehold", valid_from="2026-03-02T10:00:00Z", valid_to="2026-03-02T12:00:00Z"
    )
    assert entry["valid_from"] == datetime(2026, 3, 2, 10, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    url = f"{BOARD}/{entry['id']}"
    moved = await h.client.patch(url, json={"valid_from": "2026-03-02T13:00:00Z"})
    assert error_locs(moved) == [["body", "valid_to"]]
    opened = await h.client.patch(
        url,
        json={
            "valid_from": "2026-03-02T13:00:00Z",
            "valid_to": None,
            "organisation_ids": [org],
            "title": "Ny tid",
        },
    )
    assert opened.status_code == 200, opened.text
    body = opened.json()
    assert (body["valid_to"], body["organisation_ids"], body["title"]) == (None, [org], "Ny tid")
    cleared = await h.client.patch(url, json={"organisation_ids": [], "body_html": "<b>ok</b>"})
    assert (cleared.json()["organisation_ids"], cleared.json()["body_html"]) == ([], "<b>ok</b>")
    assert error_locs(await h.client.patch(url, json={"valid_from": None})) == [["body", "valid_from"]]
    assert (await h.client.patch(f"{BOARD}/{uuid.uuid4()}", json={"title": "x"})).status_code == 404
    assert (
        await h.client.post(BOARD, json={"title": "x", "kind": "news"}, headers=CUSTOMER)
    ).status_code == 403


# ---- standard solutions ----


async def test_standard_solutions_are_listed_edited_and_rendered_for_a_case(h: Harness) -> None:
    created = await h.client.post(
        SOLUTIONS,
        json={
            "title": "Sak {case.number}: passord",
            "body": "Hei {customer.name},\n\nDu har fått nytt passord på {customer.email}. {kunde.navn} {0}\n\nHilsen {agent.name}",
            "category": "Konto",
        },
        headers={"X-Allsak-User": "agent-1"},
    )
    assert created.status_code == 201, created.text
    solution = created.json()
    assert solution["placeholders"] == [
        "case.number",
        "customer.name",
        "customer.email",
        "kunde.navn",
        "agent.name",
    ]
    assert solution["unknown_placeholders"] == ["kunde.navn"]
    assert (solution["active"], solution["lang"], solution["author"]) == (True, "nb", "agent-1")
    url = f"{SOLUTIONS}/{solution['id']}"
    assert (await h.client.get(url)).json() == solution

    await h.client.post(SOLUTIONS, json={"title": "Welcome", "body": "Hello {customer.name}", "lang": "en"})
    retired = await h.client.post(SOLUTIONS, json={"title": "Gammel", "body": "Utgått", "active": False})
    assert titles(await h.all_pages(SOLUTIONS, limit="1")) == [
        "Gammel",
        "Sak {case.number}: passord",
        "Welcome",
    ]
    assert titles(await h.all_pages(SOLUTIONS, lang="en")) == ["Welcome"]
    assert titles(await h.all_pages(SOLUTIONS, active="true", lang="nb")) == ["Sak {case.number}: passord"]
    assert titles(await h.all_pages(SOLUTIONS, category="Konto")) == ["Sak {case.number}: passord"]

    edited = await h.client.patch(url, json={"body": solution["body"].replace(" {kunde.navn} {0}", "")})
    assert edited.status_code == 200 and edited.json()["unknown_placeholders"] == []
    assert error_locs(await h.client.patch(url, json={"body": None})) == [["body", "body"]]
    reactivated = await h.client.patch(f"{SOLUTIONS}/{retired.json()['id']}", json={"active": True})
    assert reactivated.json()["active"] is True

    number = await h.case(status=None, articles=[])
    rendered = await h.client.post(f"{url}/render", json={"case_number": number})
    assert rendered.status_code == 200, rendered.text
    assert rendered.json() == {
        "title": f"Sak {number}: passord",
        "body": "Hei Kari Nordmann,\n\nDu har fått nytt passord på kari@kunde.no.\n\nHilsen [[agent.name]]",
        "unknown_placeholders": [],
        "missing_values": ["agent.name"],
    }
    await h.client.patch(url, json={"body": "Hei {customer.name}, {__class__} fra {agent.name}"})
    signed = await h.client.post(f"{url}/render", json={"case_number": number, "agent_name": "Ola"})
    assert signed.json()["body"] == "Hei Kari Nordmann, [[__class__]] fra Ola"
    assert signed.json()["unknown_placeholders"] == ["__class__"]

    assert (await h.client.post(f"{url}/render", json={"case_number": "99999"})).status_code == 404
    assert error_locs(await h.client.post(f"{url}/render", json={"case_number": "10001; drop"})) == [
        ["body", "case_number"]
    ]
    missing = await h.client.post(f"{SOLUTIONS}/{uuid.uuid4()}/render", json={"case_number": number})
    assert missing.status_code == 404 and missing.json()["detail"] == "standard solution not found"
    assert (await h.client.get(f"{SOLUTIONS}/{uuid.uuid4()}")).status_code == 404
    assert (await h.client.patch(f"{SOLUTIONS}/{uuid.uuid4()}", json={"title": "x"})).status_code == 404
