"""The reporting read model: one row per case, fed by the cases service's events only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class CaseFact(Base):
    """What reports need to know about one case, as of the newest event seen for each field."""

    __tablename__ = "case_fact"

    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    queue: Mapped[str] = mapped_column(String(200), index=True)
    type: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(40))
    # Null until cases.case_created arrives (an update may come first).
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # The newest case time (created_at/updated_at) applied, and the newest envelope occurred_at seen.
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_event_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Per tracked field: [case time, envelope occurred_at] of the event that set it; an event
    # older than that leaves the field alone (out-of-order delivery).
    field_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
