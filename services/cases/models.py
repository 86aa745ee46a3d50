"""Tables of the cases service, the system of record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UtcDateTime, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Counter(Base):
    """Named counters handed out under a row lock (case numbers)."""

    __tablename__ = "counter"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False)


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Case(Base):
    __tablename__ = "case"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    subject: Mapped[str] = mapped_column(String(500), nullable=False)
    status: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    type: Mapped[str] = mapped_column(String(60), nullable=False)
    queue: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    priority: Mapped[str] = mapped_column(String(20), nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    requester_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), nullable=False, index=True)
    assignee: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    requester: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)
    articles: Mapped[list[Article]] = relationship(
        back_populates="case", order_by="Article.created_at, Article.seq", lazy="raise"
    )


class Article(Base):
    __tablename__ = "article"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    internal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    from_email: Mapped[str | None] = mapped_column(String(320))
    from_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    body_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    rfc_message_id: Mapped[str | None] = mapped_column(String(998))
    intake_message_id: Mapped[str | None] = mapped_column(String(36))
    threaded_by: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    case: Mapped[Case] = relationship(back_populates="articles", lazy="raise")

    __table_args__ = (Index("ix_article_case_id_seq", "case_id", "seq"),)


class MessageRef(Base):
    """A Message-ID we received or sent on a case: replies that name it join that case."""

    __tablename__ = "message_ref"

    rfc_message_id: Mapped[str] = mapped_column(String(998), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), nullable=False, index=True)
    direction: Mapped[str] = mapped_column(String(10), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
