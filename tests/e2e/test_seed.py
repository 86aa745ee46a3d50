"""``allsak seed`` in the embedded mode: a department pack through the public API, twice, and
its demo cases spread over months, found by search and counted by reporting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from allsak import packs
from allsak.cli import main
from allsak.embedded import embedded
from allsak.packs.generator import Person, demo_cases
from allsak.seed import Api, Report, SeedError, Tally, seed, seed_data_folder

ADMIN = "seed-test-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
PACK = "facilities"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Report, list[str]]]:
    """One data folder seeded with one pack (and ``common``, which it requires), once per module."""
    data = tmp_path_factory.mktemp("data")
    lines: list[str] = []
    report = asyncio.run(seed_data_folder(data, [PACK], say=lines.append))
    yield data, report, lines


@pytest.fixture
async def api(seeded: tuple[Path, Report, list[str]]) -> AsyncIterator[httpx.AsyncClient]:
    async with embedded(seeded[0], gateway={"admin_token": ADMIN}) as apps:
        transport = httpx.ASGITransport(app=apps["gateway"])
        async with httpx.AsyncClient(transport=transport, base_url="http://allsak", headers=AUTH) as client:
            yield client


async def every(api: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await api.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if not (cursor := page.get("next_cursor")):
            return items


def test_seeding_reports_what_it_created(seeded: tuple[Path, Report, list[str]]) -> None:
    _, report, lines = seeded
    pack = packs.load(PACK)
    assert list(report) == ["common", PACK], "the required pack first"
    created = {section: tally.created for section, tally in report[PACK].items()}
    assert created["groups"] == len(pack["groups"])
    assert created["users"] == len(pack["users"])
    assert created["queues"] == len(pack["queues"])
    assert created["kb articles"] == len(pack["kb_articles"])
    assert created["demo cases"] == pack["demo"]["cases"]
    assert report["common"]["customers"].created == len(packs.load("common")["customers"])
    assert lines[-1].startswith(f"{PACK}: groups 1 created, 0 already there")


async def test_the_pack_is_there_through_the_api(api: httpx.AsyncClient) -> None:
    pack = packs.load(PACK)
    groups = {g["key"]: g for g in (await api.get("/api/v1/groups")).json()["items"]}
    queues = {q["key"]: q for q in (await api.get("/api/v1/queues")).json()["items"]}
    users = {u["email"]: u for u in await every(api, "/api/v1/users")}
    [queue] = pack["queues"]
    assert queues[queue["key"]]["group_id"] == groups[queue["group"]]["id"]
    for user in pack["users"]:
        assert users[user["email"]]["groups"] == [groups[key]["id"] for key in user["groups"]]
        assert users[user["email"]]["available"] is user["available"]
    mailboxes = (await api.get("/api/v1/mailboxes")).json()["items"]
    assert [m["routing"]["queue"] for m in mailboxes] == [queue["key"]]
    kari = (
        await api.get("/api/v1/customers", params={"email": "kari.nordmann@fjordvik.kommune.example"})
    ).json()
    [organisation] = [o for o in await every(api, "/api/v1/organisations") if o["name"] == "Fjordvik kommune"]
    assert kari["items"][0]["organisation_id"] == organisation["id"]
    titles = {a["title"]: a for a in await every(api, "/api/v1/kb/articles")}
    assert {a["title"] for a in pack["kb_articles"]} <= set(titles)
    assert {titles[a["title"]]["status"] for a in pack["kb_articles"]} == {"published"}


async def test_a_second_run_changes_nothing(seeded: tuple[Path, Report, list[str]]) -> None:
    data, first, _ = seeded
    lines: list[str] = []
    again = await seed_data_folder(data, [PACK], say=lines.append)
    assert {p: {s: t.created for s, t in sections.items()} for p, sections in again.items()} == {
        p: dict.fromkeys(sections, 0) for p, sections in first.items()
    }
    assert again[PACK]["demo cases"].present == first[PACK]["demo cases"].created
    assert len(lines) == 2 and all("everything already there" in line for line in lines), lines


async def test_the_demo_cases_span_months_and_are_found_by_their_words(api: httpx.AsyncClient) -> None:
    cases = await every(api, "/api/v1/cases", limit=200)
    assert len(cases) == packs.load(PACK)["demo"]["cases"]
    months = {case["created_at"][:7] for case in cases}
    assert len(months) >= 5, months
    statuses = [case["status"] for case in cases]
    assert statuses.count("closed") > len(cases) / 2 and {"open", "waiting_for_customer"} & set(statuses)
    found = (await api.get("/api/v1/search", params={"q": "lysrør", "kind": "case", "limit": 100})).json()
    assert len(found["items"]) >= 5, found
    detail = (await api.get(f"/api/v1/cases/{found['items'][0]['number']}")).json()
    assert "lysrør" in (detail["subject"] + " ".join(a["body_text"] for a in detail["articles"])).lower()


async def test_reporting_counts_the_demo_cases_on_the_days_they_happened(api: httpx.AsyncClient) -> None:
    today = date.today()
    params = {"from": (today - timedelta(days=200)).isoformat(), "to": today.isoformat()}
    report = (await api.get("/api/v1/reports/kpis", params=params)).json()
    assert report["totals"]["created"] == packs.load(PACK)["demo"]["cases"]
    busy_months = {day["day"][:7] for day in report["by_day"] if day["created"]}
    assert len(busy_months) >= 5, busy_months


def test_seed_list_names_every_pack_with_a_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    main(["seed", "--list"])
    lines = capsys.readouterr().out.splitlines()
    keys = [line.split()[0] for line in lines]
    assert keys == packs.keys()
    for key in ("it", "hr", "facilities", "finance", "sales", "procurement", "hse", "customer_service"):
        assert key in keys
    assert any("demo cases" in line for line in lines if line.startswith("it "))


def test_seed_refuses_an_unknown_pack(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["seed", "nosuchpack"])
    assert "no pack 'nosuchpack'" in capsys.readouterr().err


async def test_seeding_through_the_gateway_as_with_url_and_token(
    tmp_path: Path,
) -> None:
    async with embedded(tmp_path, gateway={"admin_token": ADMIN}) as apps:
        transport = httpx.ASGITransport(app=apps["gateway"])
        async with httpx.AsyncClient(transport=transport, base_url="http://allsak", headers=AUTH) as client:
            report = await seed(Api({"gateway": client}), ["hse"], now=datetime.now(UTC), say=lambda _: None)
            assert report["hse"]["demo cases"].created == packs.load("hse")["demo"]["cases"]
            assert report["hse"]["mailboxes"].created == 1
            stranger = httpx.AsyncClient(transport=transport, base_url="http://allsak")
            async with stranger:
                with pytest.raises(SeedError, match="401"):
                    await seed(Api({"gateway": stranger}), ["hse"], now=datetime.now(UTC), say=lambda _: None)


async def test_every_pack_configures_through_the_api(tmp_path: Path) -> None:
    report = await seed_data_folder(tmp_path, packs.keys(), cases=False, say=lambda _: None)
    assert set(report) == set(packs.keys())
    for key in packs.keys():
        pack = packs.load(key)
        for section, name in (("case_types", "case types"), ("routing_rules", "routing rules")):
            assert report[key].get(name, Tally()).created == len(pack.get(section, [])), (key, section)
        assert "demo cases" not in report[key]


def test_the_demo_cases_of_every_pack_fit_its_case_types_and_span_months() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    everything: list[dict[str, Any]] = []
    for key in packs.keys():
        pack = packs.load(key)
        people = [Person(c["email"], c["name"], c.get("lang", "nb")) for c in customers_of(pack)]
        agents = {q["key"]: [Person("agent@example.no", "Agent Smith")] for q in pack.get("queues", [])}
        cases = demo_cases(pack, requesters=people, agents=agents, now=now)
        assert len(cases) == pack.get("demo", {}).get("cases", 0)
        types = {t["key"]: t for t in pack.get("case_types", [])}
        for case in cases:
            fields = {f["key"]: f for f in types[case["type"]]["fields"]}
            assert set(case["fields"]) <= set(fields), (key, case["type"], case["fields"])
            for name, value in case["fields"].items():
                if fields[name]["kind"] == "select":
                    assert value in [o["key"] for o in fields[name]["options"]], (key, name, value)
            mandatory = {k for k, f in fields.items() if f.get("mandatory_at")}
            assert mandatory <= set(case["fields"]), (key, case["type"], mandatory - set(case["fields"]))
            steps = [case["created_at"], *(s["at"] for s in case["articles"])]
            assert steps == sorted(steps) and max(steps) <= now.isoformat()
            assert "{" not in case["subject"] + case["body_text"], case["subject"]
        everything += cases
    assert len(everything) >= 300
    assert len({case["created_at"][:7] for case in everything}) >= 6
    for word in ("skriver", "faktura", "permisjon", "lysrør"):
        having = [c for c in everything if word in (c["subject"] + c["body_text"]).lower()]
        assert len(having) >= 5, word


def customers_of(pack: packs.Pack) -> list[dict[str, Any]]:
    return [c for p in packs.with_requirements([pack["key"]]) for c in p.get("customers", [])]
