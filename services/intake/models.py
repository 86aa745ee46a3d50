"""Intake's tables: every stored message, and the quarantine of those that could not be passed on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Message(Base):
    """One raw message intake stored (its bytes are in the blob store), whatever became of it."""

    __tablename__ = "message"
    # The per-sender cap counts a sender's recent messages on every arrival.
    __table_args__ = (Index("ix_message_sender_email_received_at", "sender_email", "received_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    mailbox: Mapped[str | None] = mapped_column(String(200))
    mailbox_id: Mapped[str | None] = mapped_column(String(36))
    # Recipients the channel named (RCPT TO, the mailbox it polled): a quarantine retry routes again by them.
    envelope: Mapped[list[str] | None] = mapped_column(JSON)
    # Unique: the same bytes posted again (a retrying provider or poller) are the same message.
    raw_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(20))
    sender_email: Mapped[str | None] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(Text)
    rfc_message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    auto_reason: Mapped[str | None] = mapped_column(Text)
    drop_reason: Mapped[str | None] = mapped_column(Text)
    # What the cases service made of it (cases.article_added.v1).
    case_number: Mapped[str | None] = mapped_column(String(40))
    article_id: Mapped[str | None] = mapped_column(String(36))
    threaded_by: Mapped[str | None] = mapped_column(String(500))
    article_added_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Quarantine(Base):
    """A stored message that waits for a person: why, what could be read, and how it ended."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_created_at_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("message.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    headers: Mapped[list[list[str]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    resolution: Mapped[str | None] = mapped_column(String(20))


class Mailbox(Base):
    """A mail address (with aliases) we take mail for: its channel, routing and policies."""

    __tablename__ = "mailbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    addresses: Mapped[list[str]] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    imap: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A password or an XOAUTH2 token; never returned by the API.
    secret: Mapped[str | None] = mapped_column(Text)
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    routing: Mapped[dict[str, Any]] = mapped_column(JSON)
    partner_pattern: Mapped[str | None] = mapped_column(String(500))
    unknown_senders: Mapped[str] = mapped_column(String(20), default="create")
    automatic_mail: Mapped[str] = mapped_column(String(20), default="register")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# The IMAP channel's bookkeeping (services/intake/channels/imap*.py). UIDs and UIDVALIDITY are
# unsigned 32-bit numbers, too large for PostgreSQL's INTEGER.
from sqlalchemy import BigInteger  # noqa: E402


class ImapCheckpoint(Base):
    """How far a mailbox's folder is taken: every UID up to ``last_uid`` of ``uidvalidity`` is stored."""

    __tablename__ = "imap_checkpoint"

    mailbox_id: Mapped[str] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"), primary_key=True)
    folder: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ImapLease(Base):
    """Which intake process works an IMAP mailbox: one at a time, renewed well before it expires."""

    __tablename__ = "imap_lease"

    mailbox_id: Mapped[str] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
