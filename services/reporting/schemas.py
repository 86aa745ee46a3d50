"""HTTP models of the reporting API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.reporting import domain


class KpiQuery(BaseModel):
    """``?from=YYYY-MM-DD&to=YYYY-MM-DD&queue=...``: local dates, both days included.

    Without dates the period is the last 30 local days up to today."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date | None = Field(default=None, alias="from", description="First local day (YYYY-MM-DD)")
    to: date | None = Field(default=None, description="Last local day, included (YYYY-MM-DD)")
    queue: str | None = Field(default=None, description="Count only the cases in this queue")

    @model_validator(mode="after")
    def _period(self) -> KpiQuery:
        if self.from_ is not None and self.to is not None:
            domain.check_range(self.from_, self.to)
        return self


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CountsRead(_Read):
    created: int
    open: int = Field(description="Open at the end of the period")
    closed: int


class DayRead(_Read):
    day: date
    created: int
    closed: int


class QueueRead(_Read):
    queue: str
    created: int
    open: int
    closed: int


class KpisRead(_Read):
    totals: CountsRead
    by_day: list[DayRead]
    by_queue: list[QueueRead]
