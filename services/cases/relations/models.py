"""Tables of case relations: the audit trail, links between cases, registered time."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.cases.models import Base, Case
from shared.db import UtcDateTime


class AuditEntry(Base):
    """One thing that happened to a case, written in the unit of work that did it."""

    __tablename__ = "audit_entry"

    # An increasing integer: the order entries were written in, and the cursor of the trail.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    actor: Mapped[str | None] = mapped_column(String(320))
    origin: Mapped[str] = mapped_column(String(20), nullable=False)  # user, rule, mail, integration, system
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    field: Mapped[str | None] = mapped_column(String(60))
    old: Mapped[Any] = mapped_column(JSON, nullable=True)
    new: Mapped[Any] = mapped_column(JSON, nullable=True)

    # Written only: it tells a flush to insert a new case before the entries about it (a rule
    # or assignment records what it did while the case is being registered).
    case: Mapped[Case] = relationship(lazy="raise")

    __table_args__ = (Index("ix_audit_entry_case_id_id", "case_id", "id"),)


class CaseLink(Base):
    """A link between two cases, stored once. ``kind`` reads from ``case_id``: ``parent`` means
    ``other_case_id`` is the parent of ``case_id``; ``duplicate_of`` that ``case_id`` duplicates it."""

    __tablename__ = "case_link"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), nullable=False, index=True)
    other_case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # related, parent, duplicate_of
    actor: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("case_id", "other_case_id", name="uq_case_link_case_id_other_case_id"),
    )


class TimeEntry(Base):
    """Minutes an agent worked on a case, optionally billable under an agreement."""

    __tablename__ = "time_entry"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), nullable=False, index=True)
    minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    activity: Mapped[str] = mapped_column(String(100), nullable=False)
    billable: Mapped[bool] = mapped_column(Boolean, nullable=False)
    agreement_id: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    worked_on: Mapped[date] = mapped_column(Date, nullable=False)
    actor: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
