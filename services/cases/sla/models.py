"""Tables of SLA: business-hours calendars, SLA policies, and each case's clock state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.cases.models import Base, Case
from shared.db import UtcDateTime


class Calendar(Base):
    """Business hours an SLA clock runs in; ``config`` is what ``BusinessCalendar.from_config`` reads."""

    __tablename__ = "sla_calendar"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    # {"en": ..., "nb": ...}
    labels: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Policy(Base):
    """Targets for the cases it matches; a null criterion matches anything."""

    __tablename__ = "sla_policy"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False)
    priority: Mapped[str | None] = mapped_column(String(20))
    case_type: Mapped[str | None] = mapped_column(String(60))
    agreement_sla: Mapped[str | None] = mapped_column(String(60))
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    warn_ratio: Mapped[float | None] = mapped_column(Float)
    # None: the default calendar.
    calendar_key: Mapped[str | None] = mapped_column(String(100))
    # Among equally specific matches the lowest position wins.
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class CaseSla(Base):
    """The SLA clocks of one case: everything the timer needs to recompute them after a restart.

    Targets, warn ratio and calendar key are copied from the policy when it is selected, so a
    later edit of the policy does not move the goalposts of running cases; the calendar itself
    is read when the clocks are recomputed (a closed day added later counts). A case without a
    policy keeps an inert row (no targets, nothing scheduled), so that its status history is
    there if a priority or type change later brings it under one.
    """

    __tablename__ = "case_sla"

    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), primary_key=True)
    # No foreign key: the record of which policy was chosen outlives the policy.
    policy_id: Mapped[str | None] = mapped_column(String(36))
    calendar_key: Mapped[str] = mapped_column(String(100), nullable=False)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    warn_ratio: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    initial_category: Mapped[str] = mapped_column(String(40), nullable=False)
    # Status-category changes since started_at: [[iso instant, category], ...], in order.
    history: Mapped[list[list[str]]] = mapped_column(JSON, nullable=False)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Events already emitted: ["first_response:sla_warning", ...]; each is emitted once per case.
    emitted: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    # When the timer must look at the case next; None: nothing can happen until the case changes.
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    # Only so that a new case is inserted before its clock row in the same flush.
    case: Mapped[Case] = relationship(lazy="raise")
