"""Routing rules through the API on SQLite and PostgreSQL: configured, applied to cases from the
API and from mail, recorded on the case and its audit trail, tried, validated, guarded."""

from __future__ import annotations

from typing import Any

from shared.events.intake import Routing
from tests.service import test_rules_harness as harness
from tests.service.test_rules_harness import ADMIN, Desk, as_user

desk = harness.desk  # the fixture

INVOICE = {"words": {"any": ["faktura"]}}


async def audit(desk: Desk, number: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await desk.get(f"/api/v1/cases/{number}/audit"))["items"]
    return sorted((e for e in items if e["origin"] == "rule"), key=lambda e: int(e["id"]))


async def test_a_rule_routes_an_api_case_and_the_case_says_which_and_why(desk: Desk) -> None:
    rule = await desk.rule(
        name="Faktura til økonomi", conditions=INVOICE, actions={"queue": "Økonomi", "priority": "high"}
    )
    assert rule["position"] == 0 and rule["active"] is True and rule["stop"] is False
    assert rule["conditions"] == {"words": {"any": ["faktura"], "subject_only": False}}

    case = await desk.case("Spørsmål om FAKTURA 42")
    assert (case["queue"], case["priority"]) == ("Økonomi", "high")
    assert case["routing"] == [
        {
            "rule": rule["id"],
            "name": "Faktura til økonomi",
            "reason": "subject has 'faktura'",
            "actions": {"queue": "Økonomi", "priority": "high"},
        }
    ]
    untouched = await desk.case("Fakturaen er betalt")  # whole words only
    assert (untouched["queue"], untouched["priority"], untouched["routing"]) == ("Servicedesk", "normal", [])

    [entry] = await audit(desk, case["number"])
    assert (entry["action"], entry["actor"]) == ("routing_rule", f"rule:{rule['id']}")
    assert entry["old"] == {"queue": "Servicedesk", "priority": "normal"}
    assert entry["new"]["reason"] == "subject has 'faktura'"


async def test_mail_gets_the_mailbox_routing_first_then_the_rules(desk: Desk) -> None:
    by_mailbox = await desk.rule(
        name="Fakturamottak",
        conditions={"channel": ["mail"], "mailbox": ["mb-faktura"], "requester_domain": ["@Kunde.NO"]},
        actions={"queue": "Økonomi", "group": "okonomi"},
    )
    urgent = await desk.rule(
        name="Haster", conditions={"words": {"any": ["haster"]}}, actions={"priority": "critical"}
    )
    case = await desk.mail(
        mailbox_id="mb-faktura",
        sender_email="per@avd.kunde.no",
        subject="Feil beløp",
        text_body="Dette haster!",
        routing=Routing(queue="IT", priority="high"),
    )
    assert (case["queue"], case["group"], case["priority"], case["channel"]) == (
        "Økonomi",
        "okonomi",
        "critical",
        "mail",
    )
    assert [(hit["rule"], hit["reason"]) for hit in case["routing"]] == [
        (
            by_mailbox["id"],
            "channel is mail; mailbox is mb-faktura; requester domain avd.kunde.no is under kunde.no",
        ),
        (urgent["id"], "body has 'haster'"),
    ]
    entries = await audit(desk, case["number"])
    # The mailbox's values stood when the rule replaced them.
    assert entries[0]["old"] == {"queue": "IT", "group": None}
    assert entries[1]["old"] == {"priority": "high"}

    other_mailbox = await desk.mail(mailbox_id="mb-it", subject="Skriver", text_body="ikke travelt")
    assert (other_mailbox["queue"], other_mailbox["routing"]) == ("Servicedesk", [])


async def test_order_stop_and_inactive_rules(desk: Desk) -> None:
    catch_all = await desk.rule(name="Alt annet", actions={"queue": "IT", "priority": "low"})
    first = await desk.rule(
        name="Faktura", position=0, conditions=INVOICE, actions={"queue": "Økonomi"}, stop=True
    )
    assert catch_all["position"] == 0 and first["position"] == 0  # equal: in the order created
    listed = await desk.get("/api/v1/routing-rules")
    assert [r["id"] for r in listed["items"]] == [catch_all["id"], first["id"]]

    # The catch-all runs first; the invoice rule overrides its queue, not its priority.
    case = await desk.case("faktura")
    assert (case["queue"], case["priority"]) == ("Økonomi", "low")
    assert [h["name"] for h in case["routing"]] == ["Alt annet", "Faktura"]

    # Moved last, the catch-all is never reached past the stopping invoice rule.
    moved = await desk.client.patch(
        f"/api/v1/routing-rules/{catch_all['id']}", json={"position": 5}, headers=ADMIN
    )
    assert moved.status_code == 200 and moved.json()["position"] == 5
    case = await desk.case("faktura")
    assert (case["queue"], case["priority"], [h["name"] for h in case["routing"]]) == (
        "Økonomi",
        "normal",
        ["Faktura"],
    )
    # Other cases still fall through to it.
    assert (await desk.case("skriver"))["queue"] == "IT"

    await desk.client.patch(f"/api/v1/routing-rules/{first['id']}", json={"active": False}, headers=ADMIN)
    case = await desk.case("faktura")
    assert (case["queue"], [h["name"] for h in case["routing"]]) == ("IT", ["Alt annet"])

    deleted = await desk.client.delete(f"/api/v1/routing-rules/{catch_all['id']}", headers=ADMIN)
    assert deleted.status_code == 204
    assert (await desk.case("skriver"))["queue"] == "Servicedesk"
    assert (
        await desk.client.get(f"/api/v1/routing-rules/{catch_all['id']}", headers=ADMIN)
    ).status_code == 404


async def test_try_shows_hits_and_result_and_stores_nothing(desk: Desk) -> None:
    await desk.rule(
        name="Portal-HR",
        active=False,
        conditions={"channel": ["portal"], "fields": {"kategori": ["permisjon", "ferie"]}},
        actions={"queue": "Økonomi", "fields": {"konfidensiell": True}, "assignee": "OKONOMI@firma.no"},
    )
    facts = {
        "channel": "portal",
        "requester_email": "kari@kunde.no",
        "subject": "Søknad",
        "fields": {"kategori": "ferie"},
    }
    response = await desk.client.post("/api/v1/routing-rules/try", json=facts, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["hits"] == []  # the rule is not active

    response = await desk.client.post(
        "/api/v1/routing-rules/try", json={**facts, "include_inactive": True}, headers=ADMIN
    )
    [hit] = response.json()["hits"]
    assert hit["reason"] == "channel is portal; field kategori is 'ferie'"
    assert response.json()["result"] == {
        "type": "incident",
        "queue": "Økonomi",
        "group": None,
        "assignee": "okonomi@firma.no",
        "priority": "normal",
        "impact": None,
        "urgency": None,
        "fields": {"kategori": "ferie", "konfidensiell": True},
    }
    assert (await desk.get("/api/v1/cases"))["items"] == []


async def test_invalid_rules_answer_422_saying_what_to_fix(desk: Desk) -> None:
    retired = await desk.post(
        "/api/v1/queues", {"key": "Gammel", "group_id": desk.groups["it"], "active": False}
    )
    bad: list[tuple[dict[str, Any], str]] = [
        ({"actions": {"queue": "Nowhere"}}, "no queue 'Nowhere'"),
        ({"actions": {"queue": retired["key"]}}, "queue 'Gammel' is retired"),
        ({"actions": {"group": "ghosts"}}, "no group 'ghosts'"),
        ({"actions": {"type": "nope"}}, "no case type 'nope'"),
        ({"actions": {"assignee": "gone@firma.no"}}, "no active user with email 'gone@firma.no'"),
        ({"actions": {}}, "a rule must set at least one of"),
        ({"actions": {"priority": "urgent"}}, "'low', 'normal', 'high' or 'critical'"),
        ({"actions": {"queue": "IT"}, "conditions": {"words": {"any": []}}}, "give at least one word"),
        (
            {"actions": {"queue": "IT"}, "conditions": {"words": {"any": ["  "]}}},
            "a word to look for is blank",
        ),
        ({"actions": {"queue": "IT"}, "conditions": {"channel": []}}, "give at least one channel"),
        (
            {"actions": {"queue": "IT"}, "conditions": {"channel": ["fax"]}},
            "'mail', 'api', 'phone' or 'portal'",
        ),
        ({"actions": {"queue": "IT"}, "conditions": {"organisation": ["org-x"]}}, "no organisation with id"),
        ({"actions": {"queue": "IT"}, "conditions": {"colour": ["red"]}}, "Extra inputs are not permitted"),
    ]
    for body, message in bad:
        response = await desk.client.post("/api/v1/routing-rules", json={"name": "x", **body}, headers=ADMIN)
        assert response.status_code == 422, (body, response.text)
        assert message in response.text, (body, response.text)
    [error] = (
        await desk.client.post(
            "/api/v1/routing-rules", json={"name": "x", "actions": {"queue": "Nowhere"}}, headers=ADMIN
        )
    ).json()["detail"]
    assert error["loc"] == ["body", "actions", "queue"]
    assert (await desk.get("/api/v1/routing-rules"))["items"] == []

    ok = await desk.rule(
        actions={"type": "incident", "queue": "IT"}
    )  # the default type needs no configuration
    patched = await desk.client.patch(
        f"/api/v1/routing-rules/{ok['id']}", json={"actions": {"group": "ghosts"}}, headers=ADMIN
    )
    assert patched.status_code == 422 and "no group 'ghosts'" in patched.text
    assert (await desk.get(f"/api/v1/routing-rules/{ok['id']}"))["actions"] == {
        "type": "incident",
        "queue": "IT",
    }
    missing = await desk.client.patch("/api/v1/routing-rules/nope", json={"active": False}, headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["detail"] == "routing rule not found"


async def test_only_admins_write_rules_and_known_users_read_them(desk: Desk) -> None:
    rule = await desk.rule(actions={"queue": "IT"})
    agent = as_user(desk.users["anne@firma.no"])
    body = {"name": "mine", "actions": {"queue": "IT"}}
    path = f"/api/v1/routing-rules/{rule['id']}"
    refused = [
        await desk.client.post("/api/v1/routing-rules", json=body, headers=agent),
        await desk.client.patch(path, json={"active": False}, headers=agent),
        await desk.client.delete(path, headers=agent),
        await desk.client.post(
            "/api/v1/routing-rules/try", json={"requester_email": "a@b.no", "subject": "x"}, headers=agent
        ),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert (await desk.client.get(path, headers=agent)).json()["active"] is True
    assert len((await desk.client.get("/api/v1/routing-rules", headers=agent)).json()["items"]) == 1
    stranger = as_user("no-such-user")
    assert (await desk.client.get("/api/v1/routing-rules", headers=stranger)).status_code == 403
    admin = as_user(desk.users["admin@firma.no"], "admin")
    assert (await desk.client.patch(path, json={"name": "Renamed"}, headers=admin)).json()[
        "name"
    ] == "Renamed"


async def test_a_type_and_fields_set_by_a_rule_are_completed_by_the_case_type(desk: Desk) -> None:
    labels = {"en": "Wrong invoice", "nb": "Feil faktura"}
    kind = {"key": "kind", "labels": {"en": "Kind", "nb": "Art"}, "kind": "text"}
    case_type = {"key": "invoice", "labels": labels, "department": "finance", "fields": [kind]}
    await desk.post("/api/v1/case-types", case_type)
    await desk.post("/api/v1/case-types", {**case_type, "key": "old-invoice", "active": False})
    inactive = await desk.client.post(
        "/api/v1/routing-rules", json={"name": "x", "actions": {"type": "old-invoice"}}, headers=ADMIN
    )
    assert inactive.status_code == 422 and "case type 'old-invoice' is inactive" in inactive.text

    await desk.rule(
        name="Faktura", conditions=INVOICE, actions={"type": "invoice", "fields": {"kind": "credit note"}}
    )
    case = await desk.case("feil på faktura")
    assert (case["type"], case["fields"], case["status_category"]) == (
        "invoice",
        {"kind": "credit note"},
        "new",
    )
