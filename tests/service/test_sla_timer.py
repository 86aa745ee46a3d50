"""The SLA timer on SQLite and PostgreSQL: warnings and breaches at the right moment, once, after
a restart too, and once with several timers at work on one PostgreSQL database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from services.cases.models import Base
from services.cases.sla.timer import SlaTimer
from shared.db import Database
from shared.testing import wait_for
from tests.service.test_sla_support import Clock, Desk, due_count, open_desk, oslo, same_instant, summary

MONDAY_9 = oslo(2026, 3, 16, 9)
MINUTE = timedelta(minutes=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    return None if request.param == "sqlite" else pg_url_factory("cases")


@pytest.fixture
async def desk(tmp_path: Path, database_url: str | None) -> AsyncIterator[Desk]:
    async with open_desk(tmp_path, database_url, Clock(MONDAY_9)) as desk:
        yield desk


def breaches_counted() -> float:
    labels = {"kind": "sla_breached", "clock": "first_response"}
    return REGISTRY.get_sample_value("allsak_cases_sla_events_total", labels) or 0.0


async def test_one_warning_and_one_breach_each_at_its_moment(desk: Desk) -> None:
    counted = breaches_counted()
    await desk.policy(first_response_minutes=60, warn_ratio=0.5, priority="high")
    number = await desk.case(at=MONDAY_9, priority="high", queue="Drift")
    await desk.tick(MONDAY_9 + 29 * MINUTE)
    assert await desk.outbox() == []
    await desk.tick(MONDAY_9 + 30 * MINUTE)
    assert summary(await desk.outbox()) == [(number, "first_response", "sla_warning")]
    await desk.tick(MONDAY_9 + 59 * MINUTE)
    assert len(await desk.outbox()) == 1
    await desk.tick(MONDAY_9 + 60 * MINUTE)
    await desk.tick(MONDAY_9 + 3 * 60 * MINUTE)
    emitted = await desk.outbox()
    assert summary(emitted) == [
        (number, "first_response", "sla_warning"),
        (number, "first_response", "sla_breached"),
    ]
    warning, breach = (e.payload for e in emitted)
    assert same_instant(warning["warned_at"], MONDAY_9 + 30 * MINUTE)
    assert same_instant(warning["due_at"], MONDAY_9 + 60 * MINUTE)
    assert same_instant(breach["breached_at"], MONDAY_9 + 60 * MINUTE)
    assert (breach["queue"], breach["priority"], breach["target_minutes"]) == ("Drift", "high", 60)
    assert emitted[1].occurred_at == (MONDAY_9 + 60 * MINUTE)  # emitted at the moment it happened
    await wait_for(lambda: len(desk.events) == 2)  # and published on the bus
    sla = await desk.sla(number)
    assert sla["first_response"]["warned"] and sla["first_response"]["breached"]
    assert sla["first_response"]["remaining_minutes"] == -120
    assert breaches_counted() == counted + 1


async def test_the_running_timer_wakes_for_a_due_moment(desk: Desk) -> None:
    await desk.policy(first_response_minutes=60, warn_ratio=None)
    number = await desk.case(at=MONDAY_9)
    desk.clock.set(MONDAY_9 + 61 * MINUTE)
    desk.timer.wake()  # as a commit would; nobody calls step() here
    await wait_for(lambda: [e.payload["number"] for e in desk.events] == [number])
    assert summary(await desk.outbox()) == [(number, "first_response", "sla_breached")]


async def test_a_paused_clock_does_not_breach_and_a_reopened_one_does_not_breach_twice(desk: Desk) -> None:
    await desk.policy(resolution_minutes=60, warn_ratio=None)
    number = await desk.case(at=MONDAY_9)
    await desk.change(number, at=MONDAY_9 + 30 * MINUTE, status="waiting_for_customer")
    await desk.tick(MONDAY_9 + 5 * 60 * MINUTE)
    assert await desk.outbox() == []
    await desk.change(number, at=MONDAY_9 + 5 * 60 * MINUTE, status="open")
    await desk.tick(MONDAY_9 + 5 * 60 * MINUTE + 30 * MINUTE)
    assert summary(await desk.outbox()) == [(number, "resolution", "sla_breached")]
    await desk.change(number, at=MONDAY_9 + 6 * 60 * MINUTE, status="resolved")
    await desk.change(number, at=MONDAY_9 + 6 * 60 * MINUTE + MINUTE, status="open")
    await desk.tick(MONDAY_9 + 48 * 60 * MINUTE)
    assert len(await desk.outbox()) == 1


async def test_a_new_instance_emits_what_fell_due_while_none_ran_once(
    tmp_path: Path, database_url: str | None
) -> None:
    clock = Clock(MONDAY_9)
    async with open_desk(tmp_path, database_url, clock) as first:
        await first.policy(first_response_minutes=60, resolution_minutes=150)  # warns at 120
        number = await first.case(at=MONDAY_9)
    clock.set(MONDAY_9 + 2 * 60 * MINUTE)  # the breach falls due while nothing runs
    async with open_desk(tmp_path, database_url, clock) as second:
        await wait_for(lambda: len(second.events) == 2)  # found by the timer as it starts
        emitted = summary(await second.outbox())
        # The first-response warning was found with its breach: not sent (see schedule.py).
        assert emitted == [(number, "first_response", "sla_breached"), (number, "resolution", "sla_warning")]
    async with open_desk(tmp_path, database_url, clock) as third:
        await third.tick(clock.now)
        assert summary(await third.outbox()) == emitted


async def test_two_timers_on_one_postgresql_database_emit_each_event_once(
    tmp_path: Path, pg_url_factory: Callable[[str], str]
) -> None:
    url = pg_url_factory("cases")
    async with open_desk(tmp_path, url, Clock(MONDAY_9)) as desk:
        await desk.policy(first_response_minutes=60, resolution_minutes=120, warn_ratio=0.5)
        numbers = [await desk.case(at=MONDAY_9, subject=f"Sak {i}") for i in range(40)]
        later = Clock(MONDAY_9 + 45 * MINUTE)  # first-response warnings are due
        databases = [Database(url, Base.metadata, clock=later) for _ in range(2)]
        timers = [SlaTimer(db, batch_size=3, max_sleep=0.2) for db in databases]
        desk.clock.set(later.now)  # the app's own timer competes as well
        desk.timer.wake()
        loops: list[asyncio.Task[None]] = []
        try:
            while await due_count(databases[0], later.now):
                await asyncio.gather(*(timer.step() for timer in timers for _ in range(4)))
            later.set(MONDAY_9 + 6 * 60 * MINUTE)  # breaches of both clocks; resolution warnings with them
            desk.clock.set(later.now)
            loops = [asyncio.create_task(timer.run()) for timer in timers]
            desk.timer.wake()
            # Every event is published on the app's bus by its outbox relay, whoever emitted it.
            await wait_for(lambda: len(desk.events) >= 3 * len(numbers), timeout=30)
            assert await due_count(databases[0], later.now) == 0
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            for db in databases:
                await db.dispose()
        counts = Counter(summary(await desk.outbox()))
    expected = {
        (number, clock, kind)
        for number in numbers
        for clock, kind in (
            ("first_response", "sla_warning"),
            ("first_response", "sla_breached"),
            ("resolution", "sla_breached"),
        )
    }
    assert set(counts) == expected
    assert set(counts.values()) == {1}
