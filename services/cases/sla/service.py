"""Use cases of SLA configuration (calendars, policies) and the SLA state of a case.

Policies apply when they are selected: at registration, and again when a case's priority or
type changes; editing or deleting one does not move the targets of running cases. Calendars
apply on every recomputation: editing one makes the timer recompute each running clock on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from services.cases import repository as cases_repository
from services.cases.domain.access import Access
from services.cases.domain.calendar import BusinessCalendar
from services.cases.domain.sla import SlaState
from services.cases.refusals import Duplicate, NotFound, Rejected
from services.cases.sla import calendars, clocks, repository, schedule
from services.cases.sla.calendars import CalendarView
from services.cases.sla.models import Calendar, Policy
from services.cases.sla.schemas import CalendarCreate, PolicyCreate
from shared.db import Database, UnitOfWork

NOT_NULL_POLICY_FIELDS = ("labels", "position")


@dataclass(frozen=True)
class CaseSlaView:
    number: int
    policy_id: str | None
    calendar_key: str
    first_response_at: datetime | None
    state: SlaState | None


# ---- calendars ----


def check_config(config: dict[str, Any]) -> None:
    """The config must be one the calendar parser reads; its message names the bad field."""
    try:
        BusinessCalendar.from_config(config)
    except (ValueError, TypeError) as exc:
        raise Rejected("config", str(exc)) from None


async def list_calendars(db: Database) -> list[CalendarView]:
    async with db.sessions() as session:
        return await calendars.all_calendars(session)


async def get_calendar(db: Database, *, key: str) -> CalendarView:
    async with db.sessions() as session:
        found = await calendars.find(session, key)
    if found is None:
        raise NotFound(f"calendar {key} not found")
    return found


async def create_calendar(db: Database, *, new: CalendarCreate) -> CalendarView:
    """A new calendar; the key ``default`` replaces the built-in default (once)."""
    check_config(new.config)
    async with db.uow() as uow:
        if await calendars.stored(uow.session, new.key) is not None:
            raise Duplicate("key", f"a calendar with key {new.key!r} exists")
        now = uow.now()
        calendar = Calendar(
            id=str(db.ids()),
            key=new.key,
            labels=new.labels.model_dump(),
            config=new.config,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(calendar)
        await repository.reschedule_calendar(uow.session, key=new.key, now=now)
        await uow.commit()
    return calendars.view(calendar)


async def update_calendar(db: Database, *, key: str, changes: dict[str, Any]) -> CalendarView:
    """Change labels or config; running clocks on the calendar are recomputed by the timer.
    Changing the built-in default stores it with the change applied."""
    if changes.get("labels", {}) is None or changes.get("config", {}) is None:
        raise Rejected("labels" if changes.get("labels", {}) is None else "config", "must not be null")
    if "config" in changes:
        check_config(changes["config"])
    async with db.uow() as uow:
        now = uow.now()
        calendar = await calendars.stored(uow.session, key)
        if calendar is None:
            if key != calendars.DEFAULT_KEY:
                raise NotFound(f"calendar {key} not found")
            calendar = _stored_builtin(str(db.ids()), now)
            uow.session.add(calendar)
        for name, value in changes.items():
            setattr(calendar, name, value)
        calendar.updated_at = now
        await repository.reschedule_calendar(uow.session, key=key, now=now)
        await uow.commit()
    return calendars.view(calendar)


def _stored_builtin(calendar_id: str, now: datetime) -> Calendar:
    builtin = calendars.BUILTIN
    return Calendar(
        id=calendar_id,
        key=builtin.key,
        labels=dict(builtin.labels),
        config=dict(builtin.config),
        created_at=now,
        updated_at=now,
    )


# ---- policies ----


async def list_policies(db: Database) -> list[Policy]:
    async with db.sessions() as session:
        return await repository.policies(session)


async def get_policy(db: Database, *, policy_id: str) -> Policy:
    async with db.sessions() as session:
        policy = await session.get(Policy, policy_id)
    if policy is None:
        raise NotFound("SLA policy not found")
    return policy


async def create_policy(db: Database, *, new: PolicyCreate) -> Policy:
    """A policy for the cases registered (or re-prioritised) from now on; last unless placed."""
    async with db.uow() as uow:
        await _check_calendar(uow, new.calendar)
        position = new.position
        if position is None:
            highest = await uow.session.scalar(select(func.max(Policy.position)))
            position = 0 if highest is None else highest + 1
        now = uow.now()
        values = new.model_dump(exclude={"labels", "calendar", "position"})
        policy = Policy(
            id=str(db.ids()),
            labels=new.labels.model_dump(),
            calendar_key=new.calendar,
            position=position,
            created_at=now,
            updated_at=now,
            **values,
        )
        uow.session.add(policy)
        await uow.commit()
    return policy


async def update_policy(db: Database, *, policy_id: str, changes: dict[str, Any]) -> Policy:
    """Change a policy; a criterion set to null matches anything. Running cases keep their targets."""
    for name in NOT_NULL_POLICY_FIELDS:
        if name in changes and changes[name] is None:
            raise Rejected(name, "must not be null")
    async with db.uow() as uow:
        policy = await uow.session.get(Policy, policy_id)
        if policy is None:
            raise NotFound("SLA policy not found")
        if "calendar" in changes:
            await _check_calendar(uow, changes["calendar"])
            policy.calendar_key = changes.pop("calendar")
        for name, value in changes.items():
            setattr(policy, name, value)
        policy.updated_at = uow.now()
        await uow.commit()
    return policy


async def delete_policy(db: Database, *, policy_id: str) -> None:
    """Remove a policy; cases under it keep their targets (they were promised them)."""
    async with db.uow() as uow:
        policy = await uow.session.get(Policy, policy_id)
        if policy is None:
            raise NotFound("SLA policy not found")
        await uow.session.delete(policy)
        await uow.commit()


async def _check_calendar(uow: UnitOfWork, key: str | None) -> None:
    if key is not None and await calendars.find(uow.session, key) is None:
        raise Rejected("calendar", f"no calendar with key {key!r}; GET /api/v1/calendars lists them")


# ---- the SLA of a case ----


async def case_sla(db: Database, *, number: int, access: Access) -> CaseSlaView:
    """Both clocks of a case the caller sees, as of now; a hidden case is not found."""
    async with db.sessions() as session:
        case = await cases_repository.visible_case(session, number, access)
        if case is None:
            raise NotFound("case not found")
        row = await repository.clock_row(session, case.id, lock=False)
        if row is None:  # registered before SLA existed and not changed since
            return CaseSlaView(case.number, None, calendars.DEFAULT_KEY, None, None)
        calendar = await calendars.business_calendar(session, row.calendar_key)
    state = schedule.state_of(clocks.record(row), calendar, db.clock())
    return CaseSlaView(case.number, row.policy_id, row.calendar_key, row.first_response_at, state)
