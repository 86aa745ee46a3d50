from __future__ import annotations

from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from shared.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service: ClassVar[str] = "reporting"

    database_url: str | None = Field(default=None, validation_alias="ALLSAK_REPORTING_DATABASE_URL")
    report_timezone: str = Field(
        default="Europe/Oslo", description="IANA time zone whose local dates the reports count days in"
    )

    @field_validator("report_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value
