"""HTTP models of SLA: calendars, policies and the SLA state of a case."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
TargetMinutes = Annotated[int, Field(ge=1, le=366 * 24 * 60)]
TARGET = "Business minutes; null: no target"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Labels(Strict):
    """What people see, in English and Norwegian bokmål."""

    en: str = Field(min_length=1, max_length=200)
    nb: str = Field(min_length=1, max_length=200)


CONFIG_DESCRIPTION = (
    "timezone (IANA, default Europe/Oslo); hours: {mon..sun: [[HH:MM, HH:MM], ...]} or '24/7' "
    "(default Mon-Fri 08:00-16:00); country: public holidays of this country (default NO, null: "
    "none); closed: [YYYY-MM-DD]; yearly_closed: [MM-DD]; half_days: {YYYY-MM-DD: hours}; "
    "yearly_half_days: {MM-DD: hours}"
)


class CalendarCreate(Strict):
    key: str = Field(min_length=1, max_length=100, pattern=KEY_PATTERN)
    labels: Labels
    config: dict[str, Any] = Field(default_factory=dict, description=CONFIG_DESCRIPTION)


class CalendarUpdate(Strict):
    labels: Labels | None = None
    config: dict[str, Any] | None = Field(
        default=None, description=f"Replaces the whole config. {CONFIG_DESCRIPTION}"
    )


class CalendarRead(BaseModel):
    key: str
    labels: Labels
    config: dict[str, Any]
    builtin: bool = Field(
        description="The built-in default, not stored; a PATCH or POST of its key stores it"
    )
    created_at: datetime | None = None
    updated_at: datetime | None = None


class CalendarList(BaseModel):
    items: list[CalendarRead]


class PolicyCreate(Strict):
    labels: Labels
    priority: str | None = Field(default=None, min_length=1, max_length=20, description="null: any priority")
    case_type: str | None = Field(default=None, min_length=1, max_length=60, description="null: any type")
    agreement_sla: str | None = Field(
        default=None, min_length=1, max_length=60, description="SLA level of a valid agreement; null: any"
    )
    first_response_minutes: TargetMinutes | None = Field(default=None, description=TARGET)
    resolution_minutes: TargetMinutes | None = Field(default=None, description=TARGET)
    warn_ratio: float | None = Field(
        default=0.8, gt=0, lt=1, description="Warn when this share of a target is used; null: never"
    )
    calendar: str | None = Field(default=None, max_length=100, description="Calendar key; null: default")
    position: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="Breaks ties between equally specific policies; null: last",
    )


class PolicyUpdate(Strict):
    labels: Labels | None = None
    priority: str | None = Field(default=None, min_length=1, max_length=20)
    case_type: str | None = Field(default=None, min_length=1, max_length=60)
    agreement_sla: str | None = Field(default=None, min_length=1, max_length=60)
    first_response_minutes: TargetMinutes | None = Field(default=None, description=TARGET)
    resolution_minutes: TargetMinutes | None = Field(default=None, description=TARGET)
    warn_ratio: float | None = Field(default=None, gt=0, lt=1)
    calendar: str | None = Field(default=None, max_length=100)
    position: int | None = Field(default=None, ge=0, le=1_000_000)


class PolicyRead(BaseModel):
    id: str
    labels: Labels
    priority: str | None
    case_type: str | None
    agreement_sla: str | None
    first_response_minutes: int | None
    resolution_minutes: int | None
    warn_ratio: float | None
    calendar: str | None
    position: int
    created_at: datetime
    updated_at: datetime


class PolicyList(BaseModel):
    items: list[PolicyRead]


class ClockRead(BaseModel):
    target_minutes: int
    elapsed_minutes: int = Field(description="Business minutes the clock ran (whole minutes)")
    remaining_minutes: int = Field(description="target - elapsed; negative once overdue")
    held_minutes: int = Field(
        description="Business minutes it stood still (paused, or stopped before a reopen)"
    )
    phase: Literal["running", "paused", "stopped"]
    due_at: datetime | None = Field(
        description="When it breaches (or breached); null while paused or stopped short"
    )
    warning_at: datetime | None
    warned: bool
    breached: bool


class CaseSlaRead(BaseModel):
    number: str
    policy_id: str | None = Field(description="The policy the case falls under; null: no SLA")
    calendar: str
    as_of: datetime
    first_response_at: datetime | None = Field(description="The first public reply")
    first_response: ClockRead | None
    resolution: ClockRead | None
