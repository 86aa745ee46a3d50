"""Case types through the cases API, on SQLite and PostgreSQL: configuration, forms, the create
gate, statuses and transitions, stage gates on PATCH, the priority matrix, type changes, list
filters, and the migration against the models."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.db import Database
from shared.events import Envelope
from shared.events.intake import MessageReceived
from shared.migrations import differences
from shared.runtime import Runtime
from shared.testing import wait_for
from tests.support.cases import publish_mail, running_cases


def labels(en: str, nb: str) -> dict[str, str]:
    return {"en": en, "nb": nb}


CORRECTED = {
    "key": "corrected_invoice_number",
    "labels": labels("Corrected invoice number", "Korrigert fakturanummer"),
    "stage": "close",
}
INVOICE_TYPE: dict[str, Any] = {
    "key": "wrong_invoice",
    "labels": labels("Wrong invoice", "Feil faktura"),
    "department": "finance",
    "fields": [
        {
            "key": "invoice_number",
            "labels": labels("Invoice number", "Fakturanummer"),
            "kind": "text",
            "mandatory_at": "create",
        },
        {"key": "amount", "labels": labels("Amount", "Beløp"), "kind": "number"},
        {
            "key": "cause",
            "labels": labels("Cause", "Årsak"),
            "kind": "select",
            "mandatory_at": "resolve",
            "options": [
                {"key": "price", "labels": labels("Wrong price", "Feil pris")},
                {"key": "vat", "labels": labels("Wrong VAT", "Feil mva")},
            ],
        },
        {
            "key": "corrected_invoice_number",
            "labels": CORRECTED["labels"],
            "kind": "text",
            "mandatory_at": "close",
        },
        {"key": "handled_by", "labels": labels("Handled by", "Behandlet av"), "kind": "user"},
        {"key": "customer", "labels": labels("Customer", "Kunde"), "kind": "customer"},
        {"key": "printer", "labels": labels("Printer", "Skriver"), "kind": "asset"},
        {"key": "due", "labels": labels("Due", "Forfall"), "kind": "date"},
        {"key": "credit", "labels": labels("Credit note", "Kreditnota"), "kind": "boolean"},
        {
            "key": "channels",
            "labels": labels("Sent by", "Sendt som"),
            "kind": "multi_select",
            "options": [
                {"key": "mail", "labels": labels("Mail", "E-post")},
                {"key": "ehf", "labels": labels("EHF", "EHF")},
            ],
        },
    ],
    "statuses": [
        {"key": "received", "labels": labels("Received", "Mottatt"), "category": "new"},
        {"key": "in_progress", "labels": labels("In progress", "Under behandling"), "category": "open"},
        {
            "key": "waiting",
            "labels": labels("Waiting for customer", "Venter på kunde"),
            "category": "waiting_for_customer",
        },
        {"key": "credited", "labels": labels("Credited", "Kreditert"), "category": "resolved"},
        {"key": "closed", "labels": labels("Closed", "Lukket"), "category": "closed"},
    ],
    "transitions": {
        "received": ["in_progress"],
        "in_progress": ["waiting", "credited", "closed"],
        "waiting": ["in_progress"],
        "credited": ["closed", "in_progress"],
    },
    "forms": {"agent": ["invoice_number", "cause", "amount"], "portal": ["invoice_number", "cause"]},
}
ITIL_MATRIX = {
    "high": {"high": "critical", "medium": "high", "low": "normal"},
    "medium": {"high": "high", "medium": "normal", "low": "low"},
    "low": {"high": "normal", "medium": "low", "low": "low"},
}
ITIL_TYPE: dict[str, Any] = {
    "key": "itil_incident",
    "labels": labels("Incident", "Hendelse"),
    "department": "it",
    "priority_matrix": ITIL_MATRIX,
    "default_impact": "medium",
    "default_urgency": "medium",
}
REQUESTER = {"email": "kari@kunde.no", "name": "Kari Nordmann"}


def as_user(user_id: str, role: str = "agent") -> dict[str, str]:
    return {"X-Allsak-User": user_id, "X-Allsak-Role": role}


class Desk:
    """The cases app with two teams: IT (group it, queue IT) and HR (group hr, queue HR)."""

    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, db: Database, events: list[Envelope]):
        self.client = client
        self.runtime = runtime
        self.db = db
        self.events = events
        self.users: dict[str, str] = {}

    async def call(self, method: str, path: str, body: Any = None, *, expect: int = 200, **kw: Any) -> Any:
        response = await self.client.request(method, path, json=body, **kw)
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    async def post(self, path: str, body: Any, *, expect: int = 201, **kw: Any) -> Any:
        return await self.call("POST", path, body, expect=expect, **kw)

    async def patch(self, path: str, body: Any, *, expect: int = 200, **kw: Any) -> Any:
        return await self.call("PATCH", path, body, expect=expect, **kw)

    async def get(self, path: str, *, expect: int = 200, **kw: Any) -> Any:
        return await self.call("GET", path, expect=expect, **kw)

    async def team(self, key: str) -> None:
        group = await self.post("/api/v1/groups", {"key": key, "name": key.upper()})
        await self.post("/api/v1/queues", {"key": key.upper(), "group_id": group["id"]})
        user = await self.post("/api/v1/users", {"email": f"{key}@example.no", "name": f"{key} agent"})
        await self.post(f"/api/v1/groups/{group['id']}/members", {"user_id": user["id"]})
        self.users[key] = user["id"]

    async def invoice_case(self, queue: str = "IT", **fields: Any) -> str:
        body = {
            "subject": "Feil på faktura",
            "requester": REQUESTER,
            "type": "wrong_invoice",
            "queue": queue,
            "fields": {"invoice_number": "F-1001", **fields},
        }
        return str((await self.post("/api/v1/cases", body))["number"])

    async def case(self, number: str) -> dict[str, Any]:
        body: dict[str, Any] = await self.get(f"/api/v1/cases/{number}")
        return body

    async def audit(self, number: str) -> list[dict[str, Any]]:
        body = await self.get(f"/api/v1/cases/{number}/audit", params={"limit": "200"})
        return list(reversed(body["items"]))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.events if e.routing_key == f"cases.{name}.v1"]

    async def mail(self, **fields: Any) -> MessageReceived:
        return await publish_mail(
            self.runtime.transport, **{"subject": "Faktura", "text_body": "Hei", **fields}
        )


@pytest.fixture
async def desk(tmp_path: Path, database_url: str | None) -> AsyncIterator[Desk]:
    async with running_cases(tmp_path, database_url) as c:
        desk = Desk(c.client, c.runtime, c.db, c.events)
        for key in ("it", "hr"):
            await desk.team(key)
        await desk.post("/api/v1/case-types", INVOICE_TYPE)
        yield desk


# Configuration


async def test_types_are_configured_by_admins_and_read_by_known_users(desk: Desk) -> None:
    agent = as_user(desk.users["it"])
    stored = await desk.get("/api/v1/case-types/wrong_invoice", headers=agent)
    assert stored["labels"] == {"en": "Wrong invoice", "nb": "Feil faktura"}
    assert [s["key"] for s in stored["statuses"]] == [
        "received",
        "in_progress",
        "waiting",
        "credited",
        "closed",
    ]
    assert stored["fields"][2]["options"][1] == {
        "key": "vat",
        "labels": {"en": "Wrong VAT", "nb": "Feil mva"},
    }
    created = await desk.post("/api/v1/case-types", ITIL_TYPE)
    assert [s["key"] for s in created["statuses"]] == [
        "new",
        "open",
        "waiting_for_customer",
        "waiting_for_third_party",
        "resolved",
        "closed",
    ]
    assert created["statuses"][1]["labels"] == {"en": "Open", "nb": "Åpen"}
    listed = await desk.get("/api/v1/case-types", params={"department": "it"}, headers=agent)
    assert [t["key"] for t in listed["items"]] == ["itil_incident"]

    await desk.post("/api/v1/case-types", {**ITIL_TYPE, "key": "x"}, headers=agent, expect=403)
    await desk.patch("/api/v1/case-types/itil_incident", {"active": False}, headers=agent, expect=403)
    await desk.get("/api/v1/case-types", headers=as_user(str(uuid.uuid4())), expect=403)
    await desk.post("/api/v1/case-types", ITIL_TYPE, expect=409)
    await desk.get("/api/v1/case-types/nope", expect=404)

    patched = await desk.patch("/api/v1/case-types/itil_incident", {"labels": labels("Incident", "Avvik")})
    assert patched["labels"]["nb"] == "Avvik" and patched["priority_matrix"] == ITIL_MATRIX
    cleared = await desk.patch("/api/v1/case-types/itil_incident", {"priority_matrix": None})
    assert cleared["priority_matrix"] is None


async def test_a_configuration_that_does_not_hold_together_is_422_naming_where(desk: Desk) -> None:
    no_resolved = [s for s in INVOICE_TYPE["statuses"] if s["category"] != "resolved"]
    bad = {
        **INVOICE_TYPE,
        "key": "bad",
        "statuses": no_resolved,
        "transitions": {"received": ["lukket"]},
        "forms": {"portal": ["cause"]},
    }
    detail = (await desk.post("/api/v1/case-types", bad, expect=422))["detail"]
    found = {(tuple(e["loc"]), e["msg"]) for e in detail}
    assert (("body", "transitions", "received"), "'lukket' is no status of this type") in found
    assert any(
        loc == ("body", "statuses") and "no status of category 'resolved'" in msg for loc, msg in found
    )
    assert (
        ("body", "forms", "portal"),
        "'invoice_number' is mandatory at create, so the portal form must show it",
    ) in found
    bad_kind = {
        **ITIL_TYPE,
        "key": "k",
        "fields": [{"key": "x", "labels": labels("x", "x"), "kind": "colour"}],
    }
    assert (await desk.post("/api/v1/case-types", bad_kind, expect=422))["detail"][0]["loc"][-1] == "kind"
    missing_nb = {**ITIL_TYPE, "key": "k", "labels": {"en": "Only English"}}
    assert (await desk.post("/api/v1/case-types", missing_nb, expect=422))["detail"][0]["loc"] == [
        "body",
        "labels",
        "nb",
    ]
    await desk.get("/api/v1/case-types/bad", expect=404)


async def test_a_status_cases_hold_cannot_be_removed(desk: Desk) -> None:
    number = await desk.invoice_case()
    await desk.patch(f"/api/v1/cases/{number}", {"status": "in_progress"})
    statuses = [s for s in INVOICE_TYPE["statuses"] if s["key"] != "in_progress"] + [
        {"key": "working", "labels": labels("Working", "Arbeider"), "category": "open"}
    ]
    detail = await desk.patch(
        "/api/v1/case-types/wrong_invoice", {"statuses": statuses, "transitions": {}}, expect=422
    )
    assert "1 case(s) have status 'in_progress'" in detail["detail"][0]["msg"]


async def test_forms_list_their_fields_in_order_with_labels_options_and_stage(desk: Desk) -> None:
    agent = as_user(desk.users["hr"])
    portal = await desk.get("/api/v1/case-types/wrong_invoice/forms/portal", headers=agent)
    assert portal["channel"] == "portal"
    assert [(f["key"], f["kind"], f["mandatory_at"]) for f in portal["fields"]] == [
        ("invoice_number", "text", "create"),
        ("cause", "select", "resolve"),
    ]
    assert portal["fields"][0]["labels"] == {"en": "Invoice number", "nb": "Fakturanummer"}
    assert [o["key"] for o in portal["fields"][1]["options"]] == ["price", "vat"]
    agent_form = await desk.get("/api/v1/case-types/wrong_invoice/forms/agent")
    assert [f["key"] for f in agent_form["fields"]] == ["invoice_number", "cause", "amount"]
    await desk.get("/api/v1/case-types/wrong_invoice/forms/fax", expect=422)
    await desk.get("/api/v1/case-types/nope/forms/portal", expect=404)


# The create gate and field values


async def test_registering_needs_the_create_fields_and_valid_values(desk: Desk) -> None:
    base = {"subject": "Faktura", "requester": REQUESTER, "type": "wrong_invoice", "queue": "IT"}
    missing = (await desk.post("/api/v1/cases", base, expect=422))["detail"]
    assert missing["missing"] == [
        {
            "key": "invoice_number",
            "labels": {"en": "Invoice number", "nb": "Fakturanummer"},
            "stage": "create",
        }
    ]
    wrong = {**base, "fields": {"invoice_number": "F-1", "amount": "tolv", "colour": "red", "due": "17.05"}}
    invalid = (await desk.post("/api/v1/cases", wrong, expect=422))["detail"]["invalid"]
    assert {p["field"] for p in invalid} == {"amount", "colour", "due"}
    assert any(p["field"] == "amount" and "a number expected, got 'tolv'" in p["message"] for p in invalid)
    nobody = {
        **base,
        "fields": {
            "invoice_number": "F-1",
            "handled_by": "nobody@example.no",
            "customer": "c-0",
            "printer": "a-0",
        },
    }
    refs = (await desk.post("/api/v1/cases", nobody, expect=422))["detail"]["invalid"]
    assert {p["field"]: p["message"] for p in refs} == {
        "handled_by": "no active user 'nobody@example.no'",
        "customer": "no customer 'c-0'",
        "printer": "no asset 'a-0'",
    }
    assert (await desk.get("/api/v1/cases", params={"type": "wrong_invoice"}))["items"] == []

    values = {
        "invoice_number": " F-1 ",
        "amount": "1 250,50",
        "handled_by": "IT@example.no",
        "due": "2026-05-18",
        "credit": "ja",
        "channels": ["ehf", "mail", "ehf"],
    }
    created = await desk.post("/api/v1/cases", {**base, "fields": values})
    assert (created["status"], created["status_category"]) == ("received", "new")
    assert created["fields"] == {
        "invoice_number": "F-1",
        "amount": 1250.5,
        "handled_by": desk.users["it"],
        "due": "2026-05-18",
        "credit": True,
        "channels": ["ehf", "mail"],
    }
    customer_id = (await desk.get("/api/v1/customers", params={"email": "kari@kunde.no"}))["items"][0]["id"]
    asset = await desk.post("/api/v1/assets", {"type": "printer", "identifier": "PR-3", "name": "3. etasje"})
    linked = {"invoice_number": "F-2", "customer": customer_id, "printer": asset["id"]}
    again = await desk.post("/api/v1/cases", {**base, "fields": linked})
    assert again["fields"] == linked


async def test_an_unconfigured_type_behaves_as_before(desk: Desk) -> None:
    created = await desk.post(
        "/api/v1/cases", {"subject": "Printer", "requester": REQUESTER, "priority": "high"}
    )
    assert (created["type"], created["status"], created["status_category"]) == ("incident", "new", "new")
    number = created["number"]
    for status in ("waiting_for_third_party", "closed", "open"):
        assert (await desk.patch(f"/api/v1/cases/{number}", {"status": status}))["status_category"] == status
    assert (await desk.patch(f"/api/v1/cases/{number}", {"priority": "low"}))["priority"] == "low"
    refused = (await desk.patch(f"/api/v1/cases/{number}", {"status": "credited"}, expect=422))["detail"]
    assert refused["invalid"][0]["field"] == "status"
    assert (await desk.patch(f"/api/v1/cases/{number}", {"fields": {"x": 1}}, expect=422))["detail"][
        "invalid"
    ]
    assert (await desk.patch(f"/api/v1/cases/{number}", {"status": None}, expect=422))["detail"][0][
        "loc"
    ] == [
        "body",
        "status",
    ]


# Statuses, transitions and stage gates on PATCH


async def test_closing_without_the_close_field_is_refused_naming_it(desk: Desk) -> None:
    number = await desk.invoice_case()
    opened = await desk.patch(f"/api/v1/cases/{number}", {"status": "in_progress"})
    assert (opened["status"], opened["status_category"]) == ("in_progress", "open")
    refused = (await desk.patch(f"/api/v1/cases/{number}", {"status": "closed"}, expect=422))["detail"]
    assert refused["missing"] == [
        {"key": "cause", "labels": {"en": "Cause", "nb": "Årsak"}, "stage": "resolve"},
        CORRECTED,
    ]
    assert "Corrected invoice number (corrected_invoice_number)" in refused["message"]
    with_cause = await desk.patch(
        f"/api/v1/cases/{number}", {"fields": {"cause": "vat"}, "status": "closed"}, expect=422
    )
    assert with_cause["detail"]["missing"] == [CORRECTED]
    assert (await desk.case(number))["status"] == "in_progress"

    closed = await desk.patch(
        f"/api/v1/cases/{number}",
        {"status": "closed", "fields": {"cause": "vat", "corrected_invoice_number": "F-1001-K"}},
    )
    assert (closed["status"], closed["status_category"]) == ("closed", "closed")
    cleared = await desk.patch(
        f"/api/v1/cases/{number}", {"fields": {"corrected_invoice_number": None}}, expect=422
    )
    assert cleared["detail"]["missing"] == [CORRECTED]

    trail = await desk.audit(number)
    changes = [(e["field"], e["old"], e["new"]) for e in trail if e["action"] == "field_changed"]
    assert ("fields.corrected_invoice_number", None, "F-1001-K") in changes
    assert ("fields.cause", None, "vat") in changes
    assert ("status_category", "open", "closed") in changes
    await wait_for(
        lambda: any("fields.corrected_invoice_number" in u["changes"] for u in desk.named("case_updated"))
    )
    closing = next(u for u in desk.named("case_updated") if "fields.corrected_invoice_number" in u["changes"])
    assert closing["changes"]["status"] == {"old": "in_progress", "new": "closed"}
    assert (closing["status_category"], "fields" in closing["changes"]) == ("closed", False)


async def test_a_transition_not_allowed_answers_the_allowed_ones(desk: Desk) -> None:
    number = await desk.invoice_case(cause="vat")
    refused = (await desk.patch(f"/api/v1/cases/{number}", {"status": "credited"}, expect=422))["detail"]
    assert refused["allowed"] == ["in_progress"]
    assert "allowed: in_progress" in refused["message"]
    assert (await desk.case(number))["status"] == "received"


async def test_a_change_to_a_type_keeps_the_category_and_needs_passed_stages(desk: Desk) -> None:
    plain = (
        await desk.post("/api/v1/cases", {"subject": "Faktura?", "requester": REQUESTER, "queue": "IT"})
    )["number"]
    await desk.patch(f"/api/v1/cases/{plain}", {"status": "resolved"})
    refused = (await desk.patch(f"/api/v1/cases/{plain}", {"type": "wrong_invoice"}, expect=422))["detail"]
    assert [m["key"] for m in refused["missing"]] == ["invoice_number", "cause"]
    retyped = await desk.patch(
        f"/api/v1/cases/{plain}",
        {"type": "wrong_invoice", "fields": {"invoice_number": "F-7", "cause": "price"}},
    )
    assert (retyped["type"], retyped["status"], retyped["status_category"]) == (
        "wrong_invoice",
        "credited",
        "resolved",
    )
    unknown = (await desk.patch(f"/api/v1/cases/{plain}", {"type": "no_such_type"}, expect=422))["detail"]
    assert unknown["invalid"][0]["field"] == "type"


# Priority matrix


async def test_the_matrix_derives_the_priority_and_refuses_a_direct_one(desk: Desk) -> None:
    await desk.post("/api/v1/case-types", ITIL_TYPE)
    base = {"subject": "Nettet er nede", "requester": REQUESTER, "type": "itil_incident"}
    defaults = await desk.post("/api/v1/cases", base)
    assert (defaults["impact"], defaults["urgency"], defaults["priority"]) == ("medium", "medium", "normal")
    created = await desk.post("/api/v1/cases", {**base, "impact": "high", "urgency": "high"})
    assert created["priority"] == "critical"
    number = created["number"]
    assert (await desk.patch(f"/api/v1/cases/{number}", {"urgency": "low"}))["priority"] == "normal"
    assert (await desk.patch(f"/api/v1/cases/{number}", {"impact": "low"}))["priority"] == "low"
    refused = (await desk.patch(f"/api/v1/cases/{number}", {"priority": "critical"}, expect=422))["detail"]
    assert (
        refused["invalid"][0]["field"] == "priority"
        and "set impact and urgency" in refused["invalid"][0]["message"]
    )
    direct = (await desk.post("/api/v1/cases", {**base, "priority": "high"}, expect=422))["detail"]
    assert "set impact and urgency" in direct["invalid"][0]["message"]
    await wait_for(lambda: any(u["number"] == number for u in desk.named("case_updated")))
    update = next(u for u in desk.named("case_updated") if u["number"] == number)
    assert update["changes"]["priority"] == {"old": "critical", "new": "normal"}


# List filters


async def test_the_list_filters_by_type_category_priority_and_assignee(desk: Desk) -> None:
    invoice = await desk.invoice_case()
    await desk.patch(f"/api/v1/cases/{invoice}", {"status": "in_progress", "assignee": "it@example.no"})
    plain = await desk.post(
        "/api/v1/cases", {"subject": "x", "requester": REQUESTER, "queue": "IT", "priority": "high"}
    )
    agent = as_user(desk.users["it"])

    async def numbers(**params: str) -> list[str]:
        found = await desk.get("/api/v1/cases", params=params, headers=agent)
        return [c["number"] for c in found["items"]]

    assert await numbers(type="wrong_invoice") == [invoice]
    assert await numbers(status_category="open") == [invoice]
    assert await numbers(status_category="new") == [plain["number"]]
    assert await numbers(priority="high") == [plain["number"]]
    assert await numbers(assignee="it@example.no") == [invoice]
    assert await numbers(type="wrong_invoice", status_category="new") == []
    await desk.get("/api/v1/cases", params={"status_category": "limbo"}, expect=422)
    hr_case = await desk.invoice_case(queue="HR")
    assert hr_case not in await numbers(type="wrong_invoice")


# Migration


def tables_named(diff: Any) -> set[str]:
    """The tables an autogenerate difference is about (a tuple, or a list of them)."""
    names = set()
    for op in diff if isinstance(diff, list) else [diff]:
        for part in op[1:]:
            if isinstance(part, sa.Table):
                names.add(part.name)
            elif isinstance(part, str):
                names.add(part)
            elif isinstance(getattr(part, "table", None), sa.Table):
                names.add(part.table.name)
    return names


async def test_the_migration_creates_what_the_models_declare(desk: Desk) -> None:
    mine = {"case_type", "case_template"}
    assert mine <= set(desk.db.metadata.tables)
    assert [d for d in await differences(desk.db) if tables_named(d) & mine] == []
