"""The SLA timer: emits warnings and breaches at the moment they happen, once.

All its state is in the ``case_sla`` rows (what was emitted, when to look next), so it picks up
after a restart where it left off, and a breach that fell due while no process ran is emitted
when one starts. Each round is one unit of work: claim the rows whose moment has come (on
PostgreSQL ``FOR UPDATE SKIP LOCKED``, so replicas share the work and never emit the same
event; SQLite has one writer at a time), recompute them at ``uow.now()``, emit through the
outbox with the rows marked in the same commit, store the next moment. Between rounds it sleeps
until the earliest next moment, at most ``sla_timer_max_sleep_seconds``, and wakes early when
this process commits (a case change may have scheduled something sooner).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from services.cases.domain.calendar import BusinessCalendar
from services.cases.domain.sla import SLA_WARNING, SlaEvent
from services.cases.models import Case
from services.cases.settings import Settings
from services.cases.sla import calendars, clocks, repository, schedule
from services.cases.sla.models import CaseSla
from shared import metrics
from shared.app import ServiceContext, Worker
from shared.db import Database, UnitOfWork
from shared.events.base import Event
from shared.events.sla import SlaBreached, SlaWarning
from shared.waker import CommitWaker

logger = logging.getLogger(__name__)

# Rows that another timer holds stay due; this keeps the loop from spinning on them.
MIN_SLEEP_SECONDS = 0.2


class SlaTimer:
    def __init__(self, db: Database, *, batch_size: int = 200, max_sleep: float = 60.0) -> None:
        self.db = db
        self.batch_size = batch_size
        self.max_sleep = max_sleep
        self._waker = CommitWaker(db)

    def wake(self) -> None:
        self._waker.wake()

    async def run(self) -> None:
        """Run rounds until cancelled."""
        while True:
            self._waker.clear()
            if await self.step() == self.batch_size:
                continue
            await self._waker.wait(await self.seconds_to_next())

    async def step(self) -> int:
        """One round: handle the rows that are due now; return how many."""
        # Every commit of the service wakes the timer: a read first spares SQLite's one writer.
        async with self.db.sessions() as session:
            earliest = await repository.earliest_check(session)
        if earliest is None or earliest > self.db.clock():
            return 0
        emitted: list[SlaEvent] = []
        async with self.db.uow() as uow:
            now = uow.now()
            rows = await repository.claim_due(
                uow.session, now=now, limit=self.batch_size, skip_locked=self.db.is_postgresql
            )
            known: dict[str, BusinessCalendar] = {}  # parsed once per round, holidays and all
            for row, case in rows:
                emitted += await self._handle(uow, row, case, now, known)
            await uow.commit(notify=bool(emitted))  # events wake the outbox relay
        for event in emitted:
            metrics.SLA_EVENTS.labels(event.kind, event.clock).inc()
        return len(rows)

    async def seconds_to_next(self) -> float:
        async with self.db.sessions() as session:
            earliest = await repository.earliest_check(session)
        if earliest is None:
            return self.max_sleep
        wait = (earliest - self.db.clock()).total_seconds()
        return min(max(wait, MIN_SLEEP_SECONDS), self.max_sleep)

    async def _handle(
        self, uow: UnitOfWork, row: CaseSla, case: Case, now: datetime, known: dict[str, BusinessCalendar]
    ) -> list[SlaEvent]:
        try:
            if row.calendar_key not in known:
                known[row.calendar_key] = await calendars.business_calendar(uow.session, row.calendar_key)
            calendar = known[row.calendar_key]
            evaluation = schedule.evaluate(clocks.record(row), calendar, now, fire=True)
        except Exception:
            # One broken row must not stop the timer for every other case.
            logger.exception("sla: cannot evaluate the clocks of case %s", case.number)
            row.next_check_at = now + timedelta(seconds=self.max_sleep)
            return []
        for event in evaluation.emit:
            await uow.emit(sla_event(event, case, evaluation))
            logger.info(
                "sla: %s of %s on case %s", event.kind, event.clock, case.number, extra={"case": case.number}
            )
        clocks.apply(case, row, evaluation, now)
        return list(evaluation.emit)


def sla_event(event: SlaEvent, case: Case, evaluation: schedule.Evaluation) -> Event:
    """The published fact for a domain event of a case's clock."""
    state = evaluation.state
    clock = next(c for c in (state.clocks if state else ()) if c.name == event.clock)
    common = {
        "number": str(case.number),
        "clock": event.clock,
        "target_minutes": int(clock.target.total_seconds() // 60),
        "queue": case.queue,
        "group": case.group,
        "assignee": case.assignee,
        "priority": case.priority,
        "type": case.type,
    }
    if event.kind == SLA_WARNING:
        return SlaWarning(**common, warned_at=event.at, due_at=clock.due_at)
    return SlaBreached(**common, breached_at=event.at, due_at=event.at)


def workers(ctx: ServiceContext) -> Sequence[Worker]:
    settings: Settings = ctx.settings  # type: ignore[assignment]
    timer = SlaTimer(
        ctx.db, batch_size=settings.sla_timer_batch_size, max_sleep=settings.sla_timer_max_sleep_seconds
    )
    ctx.state["sla_timer"] = timer
    return (timer.run,)
