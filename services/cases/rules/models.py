"""Tables of routing and assignment: the ordered routing rules, and each group's assignment method."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.cases.models import Base
from shared.db import UtcDateTime


class RoutingRule(Base):
    """A rule acting on new cases: when its conditions match, its actions set the case's values."""

    __tablename__ = "routing_rule"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Rules run in ascending position; equal positions in the order they were created.
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # As ``schemas.RuleConditions`` / ``schemas.RuleActions`` write them (nulls left out).
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    actions: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # When it fires, no later rule is evaluated.
    stop: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    # Every registration reads the active rules in order: one range scan.
    __table_args__ = (Index("ix_routing_rule_active_position", "active", "position"),)


class GroupAssignment(Base):
    """How a group's new cases get an agent; no row means ``manual``. The row is also the lock
    that serialises concurrent assignments in the group, and it remembers whose turn it was."""

    __tablename__ = "group_assignment"

    group_id: Mapped[str] = mapped_column(ForeignKey("group.id"), primary_key=True)
    method: Mapped[str] = mapped_column(String(20), nullable=False)  # turns.Method
    # Who the group last gave a case to (round robin goes on after them).
    last_user_id: Mapped[str | None] = mapped_column(ForeignKey("user.id"))
    last_assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
