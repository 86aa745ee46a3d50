"""HTTP models of case relations: links, merge, time registration, the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LinkKind = Literal["related", "parent", "child", "duplicate_of"]
CaseNumber = Field(pattern=r"^\d{1,12}$", description="The other case's number")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LinkCreate(_Input):
    kind: LinkKind
    number: str = CaseNumber


class LinkRead(BaseModel):
    kind: Literal["related", "parent", "child", "duplicate_of", "duplicated_by"] = Field(
        description="Read from this case: `parent` names this case's parent; `duplicated_by` a case that duplicates it"
    )
    number: str
    subject: str
    status: str
    created_at: datetime


class LinkList(BaseModel):
    items: list[LinkRead]


class MergeCase(_Input):
    into: str = Field(pattern=r"^\d{1,12}$", description="Number of the surviving case")


class MergeRead(BaseModel):
    number: str
    into: str
    articles_moved: int


class TimeCreate(_Input):
    minutes: int = Field(gt=0, le=1440)
    activity: str = Field(min_length=1, max_length=100)
    billable: bool
    agreement_id: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=5000)
    worked_on: date | None = Field(default=None, description="Default: today (UTC)")


class TimeRead(BaseModel):
    id: str
    minutes: int
    activity: str
    billable: bool
    agreement_id: str | None
    note: str | None
    worked_on: date
    actor: str | None
    created_at: datetime


class TimeTotals(BaseModel):
    minutes: int
    billable_minutes: int


class TimeList(BaseModel):
    items: list[TimeRead]
    totals: TimeTotals


class AuditRead(BaseModel):
    id: int
    at: datetime
    actor: str | None
    origin: str
    action: str
    field: str | None
    old: Any
    new: Any


class AuditList(BaseModel):
    items: list[AuditRead]
    next_cursor: str | None = None
