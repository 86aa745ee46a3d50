"""SLA through the API on SQLite and PostgreSQL: calendars, policies, due times on cases, access."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.service.test_sla_support import Clock, Desk, open_desk, oslo, same_instant

MONDAY_9 = oslo(2026, 3, 16, 9)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    return None if request.param == "sqlite" else pg_url_factory("cases")


@pytest.fixture
async def desk(tmp_path: Path, database_url: str | None) -> AsyncIterator[Desk]:
    async with open_desk(tmp_path, database_url, Clock(MONDAY_9)) as desk:
        yield desk


def as_user(user_id: str, role: str = "agent") -> dict[str, str]:
    return {"X-Allsak-User": user_id, "X-Allsak-Role": role}


# ---- due times on business hours ----


async def test_a_case_from_friday_afternoon_is_due_on_monday_morning(desk: Desk) -> None:
    await desk.policy(first_response_minutes=120, resolution_minutes=16 * 60)
    number = await desk.case(at=oslo(2026, 3, 13, 15))  # Friday 15:00
    due = await desk.due(number)
    assert same_instant(due["first_response_due_at"], oslo(2026, 3, 16, 9))
    assert same_instant(due["resolution_due_at"], oslo(2026, 3, 17, 15))  # 1 h Fri + 8 h Mon + 7 h Tue
    sla = await desk.sla(number)
    assert sla["calendar"] == "default" and sla["policy_id"] is not None
    assert sla["first_response"]["phase"] == "running"
    assert sla["first_response"]["target_minutes"] == 120
    assert same_instant(sla["first_response"]["due_at"], oslo(2026, 3, 16, 9))


async def test_17_may_and_easter_are_closed(desk: Desk) -> None:
    await desk.policy(first_response_minutes=120)
    before_17_may = await desk.case(at=oslo(2028, 5, 16, 15))  # Tuesday; 17 May 2028 is a Wednesday
    assert same_instant((await desk.due(before_17_may))["first_response_due_at"], oslo(2028, 5, 18, 9))
    before_easter = await desk.case(at=oslo(2026, 4, 1, 15))  # Wednesday before Maundy Thursday
    assert same_instant((await desk.due(before_easter))["first_response_due_at"], oslo(2026, 4, 7, 9))
    christmas_eve = await desk.case(at=oslo(2026, 12, 23, 15))  # closed 24 Dec in the default calendar
    assert same_instant((await desk.due(christmas_eve))["first_response_due_at"], oslo(2026, 12, 28, 9))


async def test_no_policy_means_no_due_times(desk: Desk) -> None:
    number = await desk.case()
    assert await desk.due(number) == {"first_response_due_at": None, "resolution_due_at": None}
    sla = await desk.sla(number)
    assert sla["policy_id"] is None and sla["first_response"] is None and sla["resolution"] is None


async def test_waiting_for_the_customer_pauses_and_moves_the_due_time(desk: Desk) -> None:
    await desk.policy(resolution_minutes=240)
    number = await desk.case(at=MONDAY_9)
    assert same_instant((await desk.due(number))["resolution_due_at"], oslo(2026, 3, 16, 13))
    await desk.change(number, at=oslo(2026, 3, 16, 10), status="waiting_for_customer")
    paused = await desk.sla(number)
    assert paused["resolution"]["phase"] == "paused" and paused["resolution"]["due_at"] is None
    assert (await desk.due(number))["resolution_due_at"] is None
    await desk.change(number, at=oslo(2026, 3, 16, 14), status="open")
    # 3 h left at 14:00: 2 h until 16:00, 1 h on Tuesday from 08:00.
    assert same_instant((await desk.due(number))["resolution_due_at"], oslo(2026, 3, 17, 9))
    resumed = await desk.sla(number)
    assert resumed["resolution"]["held_minutes"] == 240 and resumed["resolution"]["elapsed_minutes"] == 60


async def test_the_first_public_reply_stops_the_first_response_clock(desk: Desk) -> None:
    await desk.policy(first_response_minutes=60, resolution_minutes=7 * 60)
    number = await desk.case(at=MONDAY_9)
    desk.clock.set(oslo(2026, 3, 16, 9, 10))
    await desk.call(
        "POST", f"/api/v1/cases/{number}/articles", {"kind": "note", "body_text": "Ser på det"}, expect=201
    )
    reply = {"kind": "reply", "body_text": "Intern", "internal": True}
    await desk.call("POST", f"/api/v1/cases/{number}/articles", reply, expect=201)
    assert same_instant((await desk.due(number))["first_response_due_at"], oslo(2026, 3, 16, 10))
    desk.clock.set(oslo(2026, 3, 16, 9, 20))
    await desk.call(
        "POST", f"/api/v1/cases/{number}/articles", {"kind": "reply", "body_text": "Hei!"}, expect=201
    )
    due = await desk.due(number)
    assert due["first_response_due_at"] is None
    assert same_instant(due["resolution_due_at"], oslo(2026, 3, 16, 16))  # the resolution clock runs on
    sla = await desk.sla(number)
    assert sla["first_response"]["phase"] == "stopped" and sla["first_response"]["elapsed_minutes"] == 20
    assert sla["first_response"]["breached"] is False
    assert same_instant(sla["first_response_at"], oslo(2026, 3, 16, 9, 20))


# ---- which policy ----


async def test_the_agreement_of_the_requesters_organisation_selects_the_policy(desk: Desk) -> None:
    await desk.policy(first_response_minutes=240)
    await desk.policy(first_response_minutes=30, agreement_sla="gold")
    organisation = await desk.call(
        "POST", "/api/v1/organisations", {"name": "Oslo kommune", "domains": ["oslo.kommune.no"]}, expect=201
    )
    agreement = {"name": "Gull", "organisation_id": organisation["id"], "sla": "gold"}
    await desk.call(
        "POST",
        "/api/v1/agreements",
        {**agreement, "number": "A-1", "valid_from": "2026-01-01T00:00:00Z"},
        expect=201,
    )
    expired = {
        "name": "Gammel",
        "sla": "gold",
        "valid_from": "2025-01-01T00:00:00Z",
        "valid_to": "2026-01-01T00:00:00Z",
    }
    other = await desk.call(
        "POST", "/api/v1/organisations", {"name": "Bergen", "domains": ["bergen.no"]}, expect=201
    )
    await desk.call(
        "POST", "/api/v1/agreements", {**expired, "number": "A-2", "organisation_id": other["id"]}, expect=201
    )
    gold = await desk.case(at=MONDAY_9, requester={"email": "per@oslo.kommune.no"})
    assert same_instant((await desk.due(gold))["first_response_due_at"], oslo(2026, 3, 16, 9, 30))
    lapsed = await desk.case(at=MONDAY_9, requester={"email": "ola@bergen.no"})
    assert same_instant((await desk.due(lapsed))["first_response_due_at"], oslo(2026, 3, 16, 13))


async def test_a_priority_change_reselects_the_policy_counting_from_registration(desk: Desk) -> None:
    await desk.policy(first_response_minutes=240)
    await desk.policy(first_response_minutes=120, priority="high")
    await desk.policy(first_response_minutes=60, priority="high", case_type="incident")
    number = await desk.case(at=MONDAY_9, type="request")
    assert same_instant((await desk.due(number))["first_response_due_at"], oslo(2026, 3, 16, 13))
    await desk.change(number, at=oslo(2026, 3, 16, 9, 30), priority="high")
    assert same_instant((await desk.due(number))["first_response_due_at"], oslo(2026, 3, 16, 11))
    await desk.change(number, at=oslo(2026, 3, 16, 9, 40), priority="low")
    assert same_instant((await desk.due(number))["first_response_due_at"], oslo(2026, 3, 16, 13))


async def test_a_calendar_change_moves_the_due_times_of_running_cases(desk: Desk) -> None:
    hours = {"hours": {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}}
    await desk.call(
        "POST",
        "/api/v1/calendars",
        {"key": "drift", "labels": {"en": "Ops", "nb": "Drift"}, "config": hours},
        expect=201,
    )
    await desk.policy(first_response_minutes=8 * 60, calendar="drift")
    number = await desk.case(at=MONDAY_9)
    assert same_instant((await desk.due(number))["first_response_due_at"], oslo(2026, 3, 17, 9))
    await desk.call("PATCH", "/api/v1/calendars/drift", {"config": {**hours, "closed": ["2026-03-17"]}})
    await desk.tick(MONDAY_9)
    assert same_instant((await desk.due(number))["first_response_due_at"], oslo(2026, 3, 18, 9))


# ---- configuration API ----


async def test_calendars_list_the_builtin_default_and_check_their_config(desk: Desk) -> None:
    listed = await desk.call("GET", "/api/v1/calendars")
    [default] = listed["items"]
    assert default["key"] == "default" and default["builtin"] is True
    assert default["config"]["yearly_closed"] == ["12-24", "12-31"]
    assert default["labels"] == {"en": "Office hours", "nb": "Kontortid"}
    bad = {
        "key": "kveld",
        "labels": {"en": "Evening", "nb": "Kveld"},
        "config": {"hours": {"mon": [["18:00", "17:00"]]}},
    }
    refused = await desk.call("POST", "/api/v1/calendars", bad, expect=422)
    assert refused["detail"][0]["loc"] == ["body", "config"]
    assert "hours.mon" in refused["detail"][0]["msg"] and "18:00-17:00" in refused["detail"][0]["msg"]
    unknown_zone = {**bad, "config": {"timezone": "Europe/Kongsberg"}}
    assert (
        "IANA" in (await desk.call("POST", "/api/v1/calendars", unknown_zone, expect=422))["detail"][0]["msg"]
    )
    good = {**bad, "config": {"hours": "24/7", "country": None}}
    created = await desk.call("POST", "/api/v1/calendars", good, expect=201)
    assert created["builtin"] is False and created["config"] == {"hours": "24/7", "country": None}
    await desk.call("POST", "/api/v1/calendars", good, expect=409)
    assert (await desk.call("GET", "/api/v1/calendars/nowhere", expect=404))[
        "detail"
    ] == "calendar nowhere not found"
    await desk.call("PATCH", "/api/v1/calendars/nowhere", {"labels": {"en": "x", "nb": "y"}}, expect=404)
    patched = await desk.call(
        "PATCH", "/api/v1/calendars/default", {"labels": {"en": "Office", "nb": "Kontor"}}
    )
    assert patched["builtin"] is False and patched["config"]["yearly_closed"] == ["12-24", "12-31"]
    keys = [c["key"] for c in (await desk.call("GET", "/api/v1/calendars"))["items"]]
    assert keys == ["default", "kveld"]


async def test_policies_are_created_changed_and_deleted_with_checked_input(desk: Desk) -> None:
    first = await desk.policy(first_response_minutes=60, priority="high")
    second = await desk.policy(resolution_minutes=480)
    assert (first["position"], second["position"]) == (0, 1)
    assert first["warn_ratio"] == 0.8 and first["calendar"] is None and first["case_type"] is None
    refused = await desk.call(
        "POST", "/api/v1/sla-policies", {"labels": {"en": "x", "nb": "y"}, "calendar": "nope"}, expect=422
    )
    assert refused["detail"][0]["loc"] == ["body", "calendar"] and "nope" in refused["detail"][0]["msg"]
    await desk.call(
        "POST", "/api/v1/sla-policies", {"labels": {"en": "x", "nb": "y"}, "warn_ratio": 1.5}, expect=422
    )
    await desk.call("POST", "/api/v1/sla-policies", {"labels": {"en": "x"}}, expect=422)
    await desk.call(
        "POST",
        "/api/v1/sla-policies",
        {"labels": {"en": "x", "nb": "y"}, "first_response_minutes": 0},
        expect=422,
    )
    path = f"/api/v1/sla-policies/{first['id']}"
    changed = await desk.call(
        "PATCH", path, {"priority": None, "case_type": "incident", "calendar": "default"}
    )
    assert (changed["priority"], changed["case_type"], changed["calendar"]) == (None, "incident", "default")
    await desk.call("PATCH", path, {"position": None}, expect=422)
    assert (await desk.call("GET", path))["case_type"] == "incident"
    assert [p["id"] for p in (await desk.call("GET", "/api/v1/sla-policies"))["items"]] == [
        first["id"],
        second["id"],
    ]
    await desk.call("DELETE", path, expect=204)
    assert (await desk.call("GET", path, expect=404))["detail"] == "SLA policy not found"
    await desk.call("DELETE", path, expect=404)
    await desk.call("PATCH", path, {"priority": "low"}, expect=404)


async def test_agents_read_the_configuration_and_only_admins_change_it(desk: Desk) -> None:
    agent = await desk.call(
        "POST", "/api/v1/users", {"email": "a@x.no", "name": "A", "role": "agent"}, expect=201
    )
    admin = await desk.call(
        "POST", "/api/v1/users", {"email": "b@x.no", "name": "B", "role": "admin"}, expect=201
    )
    policy = await desk.policy(first_response_minutes=60)
    as_agent, as_admin = as_user(agent["id"]), as_user(admin["id"], "admin")
    for path in (
        "/api/v1/calendars",
        "/api/v1/calendars/default",
        "/api/v1/sla-policies",
        f"/api/v1/sla-policies/{policy['id']}",
    ):
        await desk.call("GET", path, headers=as_agent)
        await desk.call("GET", path, headers=as_user("no-such-user"), expect=403)
    body = {"labels": {"en": "x", "nb": "y"}}
    await desk.call("POST", "/api/v1/sla-policies", body, headers=as_agent, expect=403)
    await desk.call("PATCH", f"/api/v1/sla-policies/{policy['id']}", body, headers=as_agent, expect=403)
    await desk.call("DELETE", f"/api/v1/sla-policies/{policy['id']}", headers=as_agent, expect=403)
    await desk.call("POST", "/api/v1/calendars", {**body, "key": "k"}, headers=as_agent, expect=403)
    await desk.call("PATCH", "/api/v1/calendars/default", body, headers=as_agent, expect=403)
    await desk.call("POST", "/api/v1/calendars", {**body, "key": "k"}, headers=as_admin, expect=201)
    await desk.call("PATCH", f"/api/v1/sla-policies/{policy['id']}", body, headers=as_admin)


async def test_the_sla_of_a_hidden_case_is_not_found_like_a_missing_one(desk: Desk) -> None:
    users = {}
    for key in ("hr", "it"):
        group = await desk.call("POST", "/api/v1/groups", {"key": key, "name": key.upper()}, expect=201)
        await desk.call("POST", "/api/v1/queues", {"key": key.upper(), "group_id": group["id"]}, expect=201)
        user = await desk.call(
            "POST", "/api/v1/users", {"email": f"{key}@x.no", "name": key, "role": "agent"}, expect=201
        )
        await desk.call("POST", f"/api/v1/groups/{group['id']}/members", {"user_id": user["id"]}, expect=201)
        users[key] = as_user(user["id"])
    await desk.policy(first_response_minutes=60)
    number = await desk.case(queue="HR")
    assert (await desk.call("GET", f"/api/v1/cases/{number}/sla", headers=users["hr"]))["first_response"]
    hidden = await desk.client.get(f"/api/v1/cases/{number}/sla", headers=users["it"])
    missing = await desk.client.get("/api/v1/cases/99999/sla", headers=users["it"])
    not_a_number = await desk.client.get("/api/v1/cases/abc/sla", headers=users["it"])
    case_itself = await desk.client.get(f"/api/v1/cases/{number}", headers=users["it"])
    stranger = await desk.client.get(f"/api/v1/cases/{number}/sla", headers=as_user("no-such-user"))
    for response in (hidden, missing, not_a_number, case_itself, stranger):
        assert (response.status_code, response.json()) == (404, {"detail": "case not found"})
