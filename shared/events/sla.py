"""SLA events published by the cases service: a clock of a case warned or breached.

Emitted by the cases service's SLA timer through the outbox, once per case, clock and kind,
at (or as soon as the timer can after) the moment the threshold was crossed in business time.
The envelope's ``occurred_at`` is when the timer emitted it; ``warned_at`` / ``breached_at`` is
the moment the threshold was crossed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.events.base import Event

Clock = Literal["first_response", "resolution"]


class SlaWarning(Event):
    """A case's SLA clock has used its warning share of the target (80 % by default) and runs on."""

    producer = "cases"
    event = "sla_warning"

    number: str
    clock: Clock = Field(description="first_response or resolution")
    warned_at: AwareDatetime = Field(description="When the warning share of the target was used up")
    due_at: AwareDatetime | None = Field(
        description="When the clock breaches if it keeps running; null if it is paused or stopped by now"
    )
    target_minutes: int = Field(description="The target in business minutes")
    queue: str
    group: str | None = None
    assignee: str | None = None
    priority: str
    type: str


class SlaBreached(Event):
    """A case's SLA clock passed its target: the first response or the resolution is overdue."""

    producer = "cases"
    event = "sla_breached"

    number: str
    clock: Clock = Field(description="first_response or resolution")
    breached_at: AwareDatetime = Field(description="When the target was passed (the due time)")
    due_at: AwareDatetime = Field(description="The due time; equal to breached_at")
    target_minutes: int = Field(description="The target in business minutes")
    queue: str
    group: str | None = None
    assignee: str | None = None
    priority: str
    type: str
