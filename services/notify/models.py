"""The tables of notify: every outgoing mail, from registration to sent or failed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime, service_metadata

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
# Registered but never sent, by rule (the per-recipient cap on automatic mail); the reason is kept.
SUPPRESSED = "suppressed"


class Base(DeclarativeBase):
    metadata = service_metadata()


class OutgoingMail(Base):
    """One mail to send. ``raw`` holds the finished message, so a retry sends the same bytes."""

    __tablename__ = "outgoing_mail"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    case_number: Mapped[str | None] = mapped_column(String(40), index=True)
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text)
    rfc_message_id: Mapped[str] = mapped_column(String(250), index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The request that caused the mail, so that the sender's logs and events carry it on.
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    causation_id: Mapped[str | None] = mapped_column(String(64))
    # Set on automatic mail (lower case): the per-recipient cap counts by it.
    auto_recipient: Mapped[str | None] = mapped_column(String(320))
    suppressed_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # One acknowledgement per case, whatever the bus redelivers (partial: replies are many).
        Index(
            "uq_outgoing_mail_acknowledgement",
            "kind",
            "case_number",
            unique=True,
            sqlite_where=text("kind = 'acknowledgement'"),
            postgresql_where=text("kind = 'acknowledgement'"),
        ),
        Index("ix_outgoing_mail_due", "status", "next_attempt_at"),
        Index("ix_outgoing_mail_listing", "created_at", "id"),
        Index("ix_outgoing_mail_auto_recipient", "auto_recipient", "created_at"),
    )
