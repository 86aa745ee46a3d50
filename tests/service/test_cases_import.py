"""Importing cases with their history (``POST /api/v1/cases/import``) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.cases import importing, service
from services.cases.models import Base
from shared.db import Database
from shared.events import Envelope
from shared.testing import wait_for
from tests.support.cases import running_cases

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
CREATED = datetime(2026, 2, 3, 8, 15, tzinfo=UTC)
IMPORT = "/api/v1/cases/import"


def at(days: float) -> str:
    return (CREATED + timedelta(days=days)).isoformat()


def old_case(external_id: str = "OLD-4711", **overrides: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "subject": "Skriveren på 2. etasje skriver ikke ut",
        "requester": {"email": "kari.nordmann@fjordvik.kommune.example", "name": "Kari Nordmann"},
        "created_at": CREATED.isoformat(),
        "body_text": "Skriveren viser papirstopp, men det er ikke papir i den.",
        "channel": "mail",
        "queue": "IT",
        "priority": "high",
        "assignee": "siri@fjordvik.kommune.example",
        "articles": [
            {"at": at(0.1), "kind": "note", "body_text": "Bestilt tekniker."},
            {
                "at": at(1),
                "kind": "reply",
                "body_text": "Skriveren er reparert: valsen var slitt.",
                "from": {"email": "siri@fjordvik.kommune.example", "name": "Siri Haugland"},
            },
        ],
        "status_changes": [
            {"at": at(0.1), "status": "open"},
            {"at": at(1), "status": "resolved"},
            {"at": at(4), "status": "closed", "actor": "system"},
        ],
        **overrides,
    }


@dataclass
class Desk:
    client: httpx.AsyncClient
    events: list[Envelope]

    def of(self, routing_key: str) -> list[Envelope]:
        return [e for e in self.events if e.routing_key == routing_key]


@pytest.fixture
async def desk(tmp_path: Path, database_url: str | None) -> AsyncIterator[Desk]:
    async with running_cases(tmp_path, database_url) as c:
        c.db.clock = lambda: NOW
        group = (await c.client.post("/api/v1/groups", json={"key": "it", "name": "IT"})).json()
        queue = await c.client.post("/api/v1/queues", json={"key": "IT", "group_id": group["id"]})
        assert queue.status_code == 201, queue.text
        yield Desk(c.client, c.events)


async def test_an_imported_case_has_its_history_at_its_own_times(desk: Desk) -> None:
    response = await desk.client.post(IMPORT, json=old_case())
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["created"] is True and result["external_id"] == "OLD-4711"
    number = result["number"]

    case = (await desk.client.get(f"/api/v1/cases/{number}")).json()
    assert case["created_at"] == "2026-02-03T08:15:00Z"
    assert case["updated_at"] == at(4).replace("+00:00", "Z")
    assert (case["status"], case["queue"], case["priority"]) == ("closed", "IT", "high")
    assert case["assignee"] == "siri@fjordvik.kommune.example"
    # The old system's case came by mail: its first article is an inbound mail.
    assert [(a["kind"], a["internal"], a["created_at"]) for a in case["articles"]] == [
        ("mail_in", False, "2026-02-03T08:15:00Z"),
        ("note", True, at(0.1).replace("+00:00", "Z")),
        ("reply", False, at(1).replace("+00:00", "Z")),
    ]
    assert case["articles"][0]["from"]["email"] == "kari.nordmann@fjordvik.kommune.example"
    assert case["articles"][2]["from"]["name"] == "Siri Haugland"
    audit = (await desk.client.get(f"/api/v1/cases/{number}/audit")).json()["items"]
    status_entries = [(e["new"], e["at"]) for e in audit if e.get("field") == "status"]
    assert ("closed", at(4).replace("+00:00", "Z")) in status_entries


async def test_the_events_carry_the_historic_times(desk: Desk) -> None:
    number = (await desk.client.post(IMPORT, json=old_case())).json()["number"]
    await wait_for(lambda: len(desk.of("cases.case_updated.v1")) == 3)
    [created] = desk.of("cases.case_created.v1")
    assert created.payload["number"] == number
    assert created.payload["created_at"] == "2026-02-03T08:15:00Z"
    assert created.occurred_at == CREATED
    assert created.payload["suppress_auto_reply"] is True, "history is not acknowledged again"
    updates = [(e.payload["status"], e.payload["updated_at"]) for e in desk.of("cases.case_updated.v1")]
    assert updates == [
        ("open", at(0.1).replace("+00:00", "Z")),
        ("resolved", at(1).replace("+00:00", "Z")),
        ("closed", at(4).replace("+00:00", "Z")),
    ]
    await wait_for(lambda: len(desk.of("cases.article_added.v1")) == 3)
    articles = desk.of("cases.article_added.v1")
    assert [e.payload["created_at"] for e in articles][1:] == [
        at(0.1).replace("+00:00", "Z"),
        at(1).replace("+00:00", "Z"),
    ]


async def test_importing_the_same_external_id_again_answers_the_same_case(desk: Desk) -> None:
    first = await desk.client.post(IMPORT, json=old_case())
    again = await desk.client.post(IMPORT, json=old_case(subject="Changed in the old system since"))
    assert first.status_code == 201 and again.status_code == 200, again.text
    assert again.json()["number"] == first.json()["number"] and again.json()["created"] is False
    other = await desk.client.post(IMPORT, json=old_case("OLD-4712"))
    assert other.status_code == 201 and other.json()["number"] != first.json()["number"]
    listed = (await desk.client.get("/api/v1/cases")).json()["items"]
    assert sorted(c["number"] for c in listed) == sorted([first.json()["number"], other.json()["number"]])


@pytest.mark.parametrize(
    ("change", "loc", "words"),
    [
        ({"created_at": "2026-07-01T00:00:00Z"}, ["body", "created_at"], "in the future"),
        (
            {"articles": [{"at": "2026-02-01T00:00:00Z", "kind": "reply", "body_text": "x"}]},
            ["body", "articles", 0, "at"],
            "before the case's created_at",
        ),
        (
            {
                "status_changes": [
                    {"at": at(2), "status": "resolved"},
                    {"at": at(1), "status": "closed"},
                ]
            },
            ["body", "status_changes", 1, "at"],
            "before status_changes[0]",
        ),
        (
            {"status_changes": [{"at": "2026-06-15T10:00:01Z", "status": "closed"}]},
            ["body", "status_changes", 0, "at"],
            "in the future",
        ),
        ({"queue": "Nowhere"}, ["body", "queue"], "create it first"),
        ({"created_at": "2026-02-03T08:15:00"}, ["body", "created_at"], "timezone"),
    ],
)
async def test_an_impossible_history_is_refused_naming_what_to_fix(
    desk: Desk, change: dict[str, Any], loc: list[Any], words: str
) -> None:
    response = await desk.client.post(IMPORT, json=old_case(**change))
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == loc and words in error["msg"]
    assert (await desk.client.get("/api/v1/cases")).json()["items"] == [], "nothing half imported"


INVOICE_ERROR = {
    "key": "invoice_error",
    "labels": {"en": "Wrong invoice", "nb": "Feil på faktura"},
    "department": "finance",
    "fields": [
        {
            "key": "corrected_invoice_number",
            "labels": {"en": "Corrected invoice number", "nb": "Korrigert fakturanummer"},
            "kind": "text",
            "mandatory_at": "close",
        }
    ],
}


async def test_the_case_types_gate_judges_an_import_like_any_change(desk: Desk) -> None:
    created = await desk.client.post("/api/v1/case-types", json=INVOICE_ERROR)
    assert created.status_code == 201, created.text

    refused = await desk.client.post(IMPORT, json=old_case(type="invoice_error"))
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert error["loc"] == ["body", "status_changes", 2, "status"]
    assert "corrected_invoice_number" in error["msg"]

    unknown = await desk.client.post(IMPORT, json=old_case(type="invoice_error", fields={"colour": "red"}))
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "fields", "colour"]

    fields = {"corrected_invoice_number": "2026-10442"}
    accepted = await desk.client.post(IMPORT, json=old_case(type="invoice_error", fields=fields))
    assert accepted.status_code == 201, accepted.text
    case = (await desk.client.get(f"/api/v1/cases/{accepted.json()['number']}")).json()
    assert (case["status"], case["fields"]) == ("closed", fields)


async def test_only_admins_import(desk: Desk) -> None:
    agent = (
        await desk.client.post(
            "/api/v1/users",
            json={"email": "agent@fjordvik.kommune.example", "name": "Agent", "role": "agent"},
        )
    ).json()
    admin = (
        await desk.client.post(
            "/api/v1/users",
            json={"email": "admin@fjordvik.kommune.example", "name": "Admin", "role": "admin"},
        )
    ).json()
    refused = await desk.client.post(
        IMPORT, json=old_case(), headers={"X-Allsak-User": agent["id"], "X-Allsak-Role": "agent"}
    )
    assert refused.status_code == 403 and refused.json()["detail"] == "admin role required"
    allowed = await desk.client.post(
        IMPORT, json=old_case(), headers={"X-Allsak-User": admin["id"], "X-Allsak-Role": "admin"}
    )
    assert allowed.status_code == 201, allowed.text


def test_the_timeline_puts_an_article_before_a_status_change_at_the_same_moment() -> None:
    moment = CREATED + timedelta(hours=1)
    case = importing.ImportedCase(
        external_id="x",
        created_at=CREATED,
        new=service.NewCase(subject="s", requester_email="a@b.no"),
        articles=[importing.ImportedArticle(at=moment, kind="reply", body_text="Fixed", internal=False)],
        status_changes=[importing.ImportedChange(at=moment, status="resolved")],
    )
    steps = importing.timeline(case, now=NOW)
    assert [type(s).__name__ for s in steps] == ["ImportedArticle", "ImportedChange"]


async def test_a_unit_of_work_at_a_moment_tells_that_moment_as_now() -> None:
    db = Database("sqlite+aiosqlite://", Base.metadata, clock=lambda: NOW)
    try:
        async with db.uow(at=CREATED) as uow:
            assert uow.now() == CREATED
            uow.at = CREATED + timedelta(days=1)
            assert uow.now() == CREATED + timedelta(days=1)
        async with db.uow() as uow:
            assert uow.now() == NOW
        with pytest.raises(ValueError, match="aware"):
            db.uow(at=datetime(2026, 1, 1))
    finally:
        await db.dispose()
