from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service: ClassVar[str] = "cases"

    database_url: str | None = Field(default=None, validation_alias="ALLSAK_CASES_DATABASE_URL")
    case_tag: str = Field(default="Sak", description="Word in the subject tag, as in [Sak#10023]")
    first_case_number: int = Field(default=10001, ge=1)
    default_queue: str = Field(default="Servicedesk", min_length=1, max_length=100)
    default_group: str = Field(
        default="Servicedesk",
        min_length=1,
        max_length=100,
        description="Key of the group that owns the default queue when the service creates it",
    )
    default_type: str = "incident"
    default_priority: str = "normal"
    reopen_within_days: int = Field(
        default=14,
        ge=0,
        description="A reply to a case closed fewer days ago reopens it; later it starts a follow-up case",
    )
    sla_timer_max_sleep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Longest the SLA timer sleeps between rounds (it wakes earlier for a due moment "
        "or a local commit); bounds how late another replica's schedule is noticed",
    )
    sla_timer_batch_size: int = Field(
        default=200, ge=1, description="Clock rows the SLA timer takes per round"
    )
