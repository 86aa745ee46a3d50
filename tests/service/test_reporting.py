"""The reporting service through its API and the bus, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from services.reporting import domain, service
from services.reporting.app import create_app
from services.reporting.repository import FactRepository
from services.reporting.settings import Settings
from shared.db import Database
from shared.events import encode
from shared.events.cases import CaseCreated, CaseUpdated, FieldChange, Person
from shared.runtime import Runtime
from shared.testing import make_envelope, publish, running, wait_for


class Harness:
    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, db: Database) -> None:
        self.client = client
        self.runtime = runtime
        self.db = db
        self.published = 0

    async def publish(self, event: CaseCreated | CaseUpdated) -> None:
        await publish(self.runtime.transport, event)
        self.published += 1

    async def settled(self) -> None:
        """Wait until every event published so far has been handled (one inbox row each)."""
        await wait_for(lambda: self._handled(self.published))

    async def _handled(self, n: int) -> bool:
        async with self.db.sessions() as session:
            count = await session.scalar(select(func.count()).select_from(self.db.metadata.tables["inbox"]))
        return count == n

    async def kpis(self, start: str, end: str, **params: str) -> dict[str, Any]:
        response = await self.client.get("/api/v1/reports/kpis", params={"from": start, "to": end, **params})
        assert response.status_code == 200, response.text
        report: dict[str, Any] = response.json()
        return report


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    return None if request.param == "sqlite" else pg_url_factory("reporting")


@pytest.fixture
async def reporting(tmp_path: Path, database_url: str | None) -> AsyncIterator[Harness]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url), runtime)
    async with runtime, running(app) as client:
        yield Harness(client, runtime, app.state.ctx.db)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def created(number: str, at: str, queue: str = "IT", **fields: Any) -> CaseCreated:
    defaults: dict[str, Any] = {
        "subject": "Printer",
        "status": "new",
        "type": "incident",
        "priority": "normal",
        "requester": Person(email="kari@kunde.no"),
        "channel": "mail",
    }
    return CaseCreated(number=number, queue=queue, created_at=utc(at), **{**defaults, **fields})


def updated(
    number: str, at: datetime | str, status: str, queue: str = "IT", changes: dict[str, Any] | None = None
) -> CaseUpdated:
    return CaseUpdated(
        number=number,
        changes={k: FieldChange(old=old, new=new) for k, (old, new) in (changes or {}).items()},
        origin="user",
        status=status,
        queue=queue,
        updated_at=at if isinstance(at, datetime) else utc(at),
    )


def queues(report: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {q["queue"]: (q["created"], q["open"], q["closed"]) for q in report["by_queue"]}


async def test_update_before_creation_is_completed_by_the_creation(reporting: Harness) -> None:
    await reporting.publish(
        updated("10001", "2026-11-26T10:00", "resolved", queue="HR", changes={"priority": ("normal", "high")})
    )
    await reporting.settled()
    early = await reporting.kpis("2026-11-26", "2026-11-26")
    assert early["totals"] == {"created": 0, "open": 0, "closed": 1}

    await reporting.publish(created("10001", "2026-11-26T09:00", queue="IT"))
    await reporting.settled()
    report = await reporting.kpis("2026-11-26", "2026-11-26")
    assert report["totals"] == {"created": 1, "open": 0, "closed": 1}
    assert queues(report) == {"HR": (1, 0, 1)}  # the older creation did not move it back to IT
    assert report["by_day"] == [{"day": "2026-11-26", "created": 1, "closed": 1}]


async def test_a_duplicate_delivery_is_handled_once(reporting: Harness) -> None:
    queue = "reporting.on_case_created"

    def count(outcome: str) -> float:
        labels = {"service": "reporting", "queue": queue, "outcome": outcome}
        return REGISTRY.get_sample_value("allsak_bus_messages_consumed_total", labels) or 0.0

    ok, duplicate = count("ok"), count("duplicate")
    envelope = make_envelope(created("10001", "2026-11-26T09:00"))
    for _ in range(2):
        await reporting.runtime.transport.publish(
            routing_key=envelope.routing_key, body=encode(envelope), message_id=str(envelope.message_id)
        )
    await wait_for(lambda: count("ok") == ok + 1 and count("duplicate") == duplicate + 1)
    report = await reporting.kpis("2026-11-26", "2026-11-26")
    assert report["totals"] == {"created": 1, "open": 1, "closed": 0}


async def test_kpis_count_oslo_local_days_and_queues(reporting: Harness) -> None:
    # Oslo is UTC+1 in November: 23:00Z is local midnight.
    await reporting.publish(created("1", "2026-11-25T23:30"))  # local 26th 00:30
    await reporting.publish(created("2", "2026-11-26T22:59", queue="HR"))  # local 26th 23:59
    await reporting.publish(updated("2", "2026-11-26T23:10", "resolved", queue="HR"))  # closed local 27th
    await reporting.publish(created("3", "2026-11-26T23:00"))  # local 27th 00:00
    await reporting.publish(created("4", "2026-11-20T10:00"))  # before the period, still open
    await reporting.publish(created("5", "2026-11-25T22:59"))  # local 25th, closed after the period
    await reporting.publish(updated("5", "2026-11-28T10:00", "closed"))
    await reporting.publish(created("6", "2026-11-26T12:00"))
    await reporting.publish(updated("6", "2026-11-26T13:00", "closed"))
    await reporting.settled()

    report = await reporting.kpis("2026-11-26", "2026-11-27")
    assert report["totals"] == {"created": 4, "open": 4, "closed": 2}
    assert report["by_day"] == [
        {"day": "2026-11-26", "created": 3, "closed": 1},
        {"day": "2026-11-27", "created": 1, "closed": 1},
    ]
    assert queues(report) == {"HR": (1, 0, 1), "IT": (3, 4, 1)}
    assert [q["queue"] for q in report["by_queue"]] == ["HR", "IT"]

    only_hr = await reporting.kpis("2026-11-26", "2026-11-27", queue="HR")
    assert only_hr["totals"] == {"created": 1, "open": 0, "closed": 1}
    assert [d["closed"] for d in only_hr["by_day"]] == [0, 1]

    # Open is counted at the end of the period: case 2 closed after local midnight of the 26th.
    first_day = await reporting.kpis("2026-11-26", "2026-11-26")
    assert first_day["totals"] == {"created": 3, "open": 4, "closed": 1}


async def test_reopening_clears_closed_and_a_late_old_update_does_not_close_again(reporting: Harness) -> None:
    created_at = utc("2026-11-26T09:00")
    resolved = updated(
        "10001", created_at + timedelta(hours=1), "resolved", changes={"status": ("open", "resolved")}
    )
    await reporting.publish(created("10001", "2026-11-26T09:00", status="open"))
    await reporting.publish(resolved)
    await reporting.settled()
    assert (await reporting.kpis("2026-11-26", "2026-11-26"))["totals"] == {
        "created": 1,
        "open": 0,
        "closed": 1,
    }

    await reporting.publish(
        updated("10001", created_at + timedelta(hours=2), "open", changes={"status": ("resolved", "open")})
    )
    await reporting.settled()
    assert (await reporting.kpis("2026-11-26", "2026-11-26"))["totals"] == {
        "created": 1,
        "open": 1,
        "closed": 0,
    }

    await reporting.publish(resolved)  # the old update again, as a new message
    await reporting.settled()
    assert (await reporting.kpis("2026-11-26", "2026-11-26"))["totals"] == {
        "created": 1,
        "open": 1,
        "closed": 0,
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-11-27", "to": "2026-11-26"}, "must be on or before"),
        ({"from": "2025-01-01", "to": "2026-02-01"}, "at most 366 days"),
        ({"from": "2026-13-01", "to": "2026-11-26"}, "valid date"),
        ({"from": "2020-01-01"}, "at most 366 days"),
    ],
)
async def test_invalid_periods_are_rejected(reporting: Harness, params: dict[str, str], message: str) -> None:
    response = await reporting.client.get("/api/v1/reports/kpis", params=params)
    assert response.status_code == 422
    assert message in str(response.json()["detail"])


async def test_without_dates_the_period_is_the_last_30_days(reporting: Harness) -> None:
    response = await reporting.client.get("/api/v1/reports/kpis")
    assert response.status_code == 200
    days = [row["day"] for row in response.json()["by_day"]]
    assert len(days) == 30 and days == sorted(days)


# SQLite lets one writer in at a time: the race needs PostgreSQL.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_first_events_of_a_case_handled_at_once_both_count(
    reporting: Harness,
) -> None:
    db = reporting.db
    update = updated("7", "2026-11-26T10:00", "resolved")
    create = created("7", "2026-11-26T09:00", type="request")

    async def create_in_its_own_transaction() -> None:
        async with db.uow() as uow:
            await service.record_case_created(uow, event=create, envelope=make_envelope(create))
            await uow.commit()

    async def someone_waits_for_a_lock() -> bool:
        async with db.engine.connect() as conn:
            query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            return bool(await conn.scalar(text(query)))

    async with db.uow() as first:
        await service.record_case_updated(first, event=update, envelope=make_envelope(update))
        second = asyncio.create_task(create_in_its_own_transaction())
        await wait_for(someone_waits_for_a_lock)  # its insert of the same case waits for ours
        await first.commit()
    await second
    async with db.sessions() as session:
        fact = await FactRepository(session).get("7")
    assert fact is not None
    assert (fact.status, fact.type, fact.created_at) == ("resolved", "request", utc("2026-11-26T09:00"))


# SQLite lets one writer in at a time: the race needs PostgreSQL.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_fact_read_as_missing_is_never_overwritten_by_the_insert(
    reporting: Harness,
) -> None:
    db = reporting.db
    update = updated("8", "2026-11-26T10:00", "resolved")
    create = created("8", "2026-11-26T09:00")
    async with db.uow() as late:
        facts = FactRepository(late.session)
        assert await facts.get("8") is None
        async with db.uow() as early:  # commits the case's first fact after `late` looked
            await service.record_case_updated(early, event=update, envelope=make_envelope(update))
            await early.commit()
        with pytest.raises(IntegrityError):
            await facts.insert(domain.apply_created(None, create, seen=datetime.now(UTC)))
