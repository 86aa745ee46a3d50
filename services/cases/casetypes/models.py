"""Tables of case types and templates.

A type's configuration is one row: its parts (fields, statuses, transitions, matrix, forms) are
read and validated together, and change together, so they are JSON columns of the row rather
than tables of their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.cases.models import Base
from shared.db import UtcDateTime


class CaseType(Base):
    """A department's kind of case; ``case.type`` holds the ``key``."""

    __tablename__ = "case_type"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False)
    department: Mapped[str] = mapped_column(String(100), nullable=False)
    # An inactive type registers no new cases; its cases keep its configuration.
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # [{key, labels, kind, options: [{key, labels}], mandatory_at}]
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    # [{key, labels, category}], in order: the first of a category is where cases enter it.
    statuses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    # {status: [next statuses]}; a status not named may change to any.
    transitions: Mapped[dict[str, list[str]]] = mapped_column(JSON, nullable=False)
    # {impact: {urgency: priority}}; null: the priority is set directly.
    priority_matrix: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON)
    default_impact: Mapped[str | None] = mapped_column(String(20))
    default_urgency: Mapped[str | None] = mapped_column(String(20))
    # {"agent": [field keys], "portal": [field keys]}
    forms: Mapped[dict[str, list[str]]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class CaseTemplate(Base):
    """A template ("mal"): what a case registered from it starts with, but the requester."""

    __tablename__ = "case_template"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False)
    # Unset: the settings' default type and queue, as for any new case.
    type: Mapped[str | None] = mapped_column(String(60))
    queue: Mapped[str | None] = mapped_column(String(100))
    group: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str | None] = mapped_column(String(20))
    impact: Mapped[str | None] = mapped_column(String(20))
    urgency: Mapped[str | None] = mapped_column(String(20))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    subject: Mapped[str] = mapped_column(String(500), nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
