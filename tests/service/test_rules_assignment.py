"""Automatic assignment through the API on SQLite and PostgreSQL: methods per group, round robin,
fewest open cases, what is left alone, and (PostgreSQL) two replicas assigning at once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import text

from services.cases import repository as cases_repository
from services.cases.rules import assignment
from shared.testing import wait_for
from tests.service import test_rules_harness as harness
from tests.service.test_rules_harness import ADMIN, IT_AGENTS, Desk, as_user

desk = harness.desk  # the fixture


async def test_groups_assign_manually_until_a_method_is_set(desk: Desk) -> None:
    path = f"/api/v1/groups/{desk.groups['it']}/assignment"
    agent = as_user(desk.users["anne@firma.no"])
    read = (await desk.client.get(path, headers=agent)).json()
    assert (read["group_key"], read["method"], read["labels"]) == (
        "it",
        "manual",
        {"en": "Manual", "nb": "Manuell"},
    )
    assert (await desk.case("printer", queue="IT"))["assignee"] is None

    assert (await desk.client.put(path, json={"method": "round_robin"}, headers=agent)).status_code == 403
    bad = await desk.client.put(path, json={"method": "random"}, headers=ADMIN)
    assert bad.status_code == 422 and "'manual', 'round_robin' or 'least_open'" in bad.text
    missing = await desk.client.put(
        "/api/v1/groups/nope/assignment", json={"method": "manual"}, headers=ADMIN
    )
    assert missing.status_code == 404 and missing.json()["detail"] == "group not found"
    assert (await desk.client.get("/api/v1/groups/nope/assignment", headers=ADMIN)).status_code == 404

    changed = await desk.assignment("it", "least_open")
    assert changed["labels"] == {"en": "Fewest open cases", "nb": "Færrest åpne saker"}
    assert (await desk.client.get(path, headers=agent)).json()["method"] == "least_open"


async def test_round_robin_hands_out_in_turn_to_available_agents_only(desk: Desk) -> None:
    await desk.assignment("it", "round_robin")
    given = [(await desk.case(f"sak {i}", queue="IT"))["assignee"] for i in range(4)]
    assert given == [*IT_AGENTS, IT_AGENTS[0]]  # never away@ (unavailable) nor gone@ (inactive)

    # A case that comes with an assignee keeps it, and does not take a turn.
    assert (await desk.case("til carl", queue="IT", assignee="carl@firma.no"))["assignee"] == "carl@firma.no"
    assert (await desk.case("neste", queue="IT"))["assignee"] == IT_AGENTS[1]
    # Another group's queue (manual) is left alone.
    assert (await desk.case("faktura", queue="Økonomi"))["assignee"] is None

    state = await desk.get(f"/api/v1/groups/{desk.groups['it']}/assignment")
    assert state["last_user_id"] == desk.users[IT_AGENTS[1]] and state["last_assigned_at"]
    trail = (await desk.get("/api/v1/cases/10001/audit"))["items"]
    [entry] = [e for e in trail if e["action"] == "auto_assigned"]
    assert (entry["origin"], entry["actor"], entry["field"], entry["new"]) == (
        "rule",
        "assignment:round_robin",
        "assignee",
        IT_AGENTS[0],
    )


async def test_least_open_picks_the_agent_with_fewest_open_cases(desk: Desk) -> None:
    anne, bjorn, carl = IT_AGENTS
    # anne and carl have one open case each; bjorn has two, both closed.
    for who, close in ((anne, False), (bjorn, True), (bjorn, True), (carl, False)):
        case = await desk.case("gammel sak", queue="IT", assignee=who)
        if close:
            response = await desk.client.patch(f"/api/v1/cases/{case['number']}", json={"status": "closed"})
            assert response.status_code == 200, response.text
    await desk.assignment("it", "least_open")
    assert (await desk.case("ny", queue="IT"))["assignee"] == bjorn
    # Now all three have one open case: the first in order (by email) wins the tie.
    assert (await desk.case("ny igjen", queue="IT"))["assignee"] == anne


async def test_the_group_named_on_the_case_assigns_before_the_queues_group(desk: Desk) -> None:
    await desk.assignment("it", "round_robin")
    await desk.rule(
        name="Skriver til IT", conditions={"words": {"any": ["skriver"]}}, actions={"group": "it"}
    )
    await desk.rule(
        name="Lønn", conditions={"words": {"any": ["lønn"]}}, actions={"assignee": "okonomi@firma.no"}
    )
    routed = await desk.case("Skriver i Økonomi-kontoret", queue="Økonomi")
    assert (routed["queue"], routed["group"], routed["assignee"]) == ("Økonomi", "it", IT_AGENTS[0])
    by_rule = await desk.case("lønn", queue="IT")
    assert by_rule["assignee"] == "okonomi@firma.no"
    trail = (await desk.get(f"/api/v1/cases/{by_rule['number']}/audit"))["items"]
    assert not [e for e in trail if e["action"] == "auto_assigned"]


async def test_nobody_available_leaves_the_case_unassigned(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.cases.rules.assignment")
    await desk.assignment("it", "round_robin")
    for email in IT_AGENTS:
        response = await desk.client.patch(f"/api/v1/users/{desk.users[email]}", json={"available": False})
        assert response.status_code == 200
    case = await desk.case("ingen hjemme", queue="IT")
    assert case["assignee"] is None
    assert any("no available agent in group it (round_robin)" in r.getMessage() for r in caplog.records)


async def test_cases_registered_at_once_go_to_different_agents(desk: Desk) -> None:
    await desk.assignment("it", "round_robin")
    await desk.case("the case counter and the customer exist", queue="Økonomi")
    cases = await asyncio.gather(*(desk.case(f"samtidig {i}", queue="IT") for i in range(3)))
    assert sorted(c["assignee"] for c in cases) == sorted(IT_AGENTS)


# SQLite lets one writer in at a time: only PostgreSQL runs two at once.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_replicas_take_turns_on_the_group_row(desk: Desk) -> None:
    """Two units of work assign at once, as two replicas would: the second waits for the first
    one's lock on the group row and then takes the next turn."""
    await desk.assignment("it", "round_robin")
    numbers = [int((await desk.case(f"uten agent {i}", queue="Økonomi"))["number"]) for i in range(2)]
    await desk.client.patch(f"/api/v1/cases/{numbers[0]}", json={"queue": "IT"})
    await desk.client.patch(f"/api/v1/cases/{numbers[1]}", json={"queue": "IT"})

    async def assign_one(number: int, started: asyncio.Event | None = None) -> Any:
        async with desk.db.uow() as uow:
            case = await cases_repository.case_by_number(uow.session, number)
            assert case is not None and case.assignee is None
            await assignment.assign(uow, case)
            if started is not None:
                started.set()
                await second_waiting()
            await uow.commit()
            return case.assignee

    async def second_waiting() -> None:
        async def blocked() -> bool | None:
            async with desk.db.sessions() as session:
                waiting = await session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND query ILIKE '%group_assignment%'"
                    )
                )
            return bool(waiting) or None

        # mypy cannot solve wait_for's type variable for a coroutine function.
        assert await wait_for(blocked) is True  # type: ignore[arg-type]

    started = asyncio.Event()
    first = asyncio.create_task(assign_one(numbers[0], started))
    await started.wait()
    second = asyncio.create_task(assign_one(numbers[1]))
    assert sorted(await asyncio.gather(first, second)) == [IT_AGENTS[0], IT_AGENTS[1]]
