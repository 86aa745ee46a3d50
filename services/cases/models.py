"""Tables of the cases service, the system of record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UtcDateTime, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Counter(Base):
    """Named counters handed out under a row lock (case numbers)."""

    __tablename__ = "counter"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False)


class Organisation(Base):
    """A customer organisation; new customers whose mail domain it lists belong to it."""

    __tablename__ = "organisation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Mail domains, lower case: ["kommune.no", "skole.kommune.no"]; subdomains match too.
    domains: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The primary address (lower case); it is also one of the customer's ``customer_address`` rows.
    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class CustomerAddress(Base):
    """A mail address of a customer (the primary one and aliases); mail is matched through it."""

    __tablename__ = "customer_address"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower case
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    # Set by a permanent bounce: no automatic mail goes to the address any more.
    undeliverable_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    undeliverable_reason: Mapped[str | None] = mapped_column(String(500))


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
    # The group that works the case, as routing named it (the case-model issue makes it a real group).
    group: Mapped[str | None] = mapped_column(String(100))
    # Number of the closed case a late reply was about (a follow-up case).
    follow_up_of: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    # When the case last became closed; None while it is not closed.
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Number of the case this one was merged into; a merged case is closed and stays so.
    merged_into: Mapped[int | None] = mapped_column(Integer)
    # The category of ``status`` (new, open, waiting_for_customer, waiting_for_third_party,
    # resolved, closed): statuses are configured per case type, and the rules that do not care
    # which status it is (SLA pauses, reopening, access to done cases) ask for the category.
    status_category: Mapped[str] = mapped_column(
        String(40), nullable=False, index=True, server_default="open"
    )
    # Values of the case type's custom fields, by field key.
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict, server_default="{}")
    # The words of those values (texts, numbers, chosen options' labels) for full-text search.
    fields_text: Mapped[str | None] = mapped_column(Text)
    # ITIL impact and urgency; the priority follows from them where the case type has a matrix.
    impact: Mapped[str | None] = mapped_column(String(20))
    urgency: Mapped[str | None] = mapped_column(String(20))
    # Key of the template the case was registered from.
    template: Mapped[str | None] = mapped_column(String(100))
    # The routing rules that fired when the case was registered: [{rule, name, reason, actions}].
    routing: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # SLA due times (business time, from the SLA policy the case falls under); None: no target.
    sla_first_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sla_resolution_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)

    requester: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)
    articles: Mapped[list[Article]] = relationship(
        back_populates="case", order_by="Article.created_at, Article.seq", lazy="raise"
    )

    __table_args__ = (
        # The case list's filters, newest first (tests/bench/case_queries.py shows the plans):
        # a status in one queue, and a status category across the caller's queues.
        Index("ix_case_queue_status_number", "queue", "status", "number"),
        Index("ix_case_status_category_queue_number", "status_category", "queue", "number"),
        # Least-open assignment counts each candidate's cases that are not done.
        Index("ix_case_assignee_status_category", "assignee", "status_category"),
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
    # From mail: the new text without quoted history (timeline preview), the sanitised HTML body
    # and the attachments, both in the blob store by content hash.
    reply_text: Mapped[str | None] = mapped_column(Text)
    html_sha256: Mapped[str | None] = mapped_column(String(64))
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Text the case search finds besides body_text: forwarded messages, attachment names.
    search_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    case: Mapped[Case] = relationship(back_populates="articles", lazy="raise")

    __table_args__ = (Index("ix_article_case_id_seq", "case_id", "seq"),)


class ArticleBlob(Base):
    """A stored part of an article (its HTML body or an attachment), found by content hash:
    the download route serves a blob only to callers who see a case that has it."""

    __tablename__ = "article_blob"

    article_id: Mapped[str] = mapped_column(ForeignKey("article.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    filename: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200), nullable=False)
    disposition: Mapped[str] = mapped_column(String(20), nullable=False)


class MessageRef(Base):
    """A Message-ID we received or sent on a case: replies that name it join that case."""

    __tablename__ = "message_ref"

    rfc_message_id: Mapped[str] = mapped_column(String(998), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), nullable=False, index=True)
    direction: Mapped[str] = mapped_column(String(10), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    # Inbound: intake's id of the message, to tell a re-run of it from the same mail taken twice.
    intake_message_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class CaseExternalRef(Base):
    """An external system's case number for a case (a partner's INC0012345), per source."""

    __tablename__ = "case_external_ref"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), nullable=False, index=True)
    reference: Mapped[str] = mapped_column(String(200), nullable=False)
    # Where the reference was seen: "mailbox:<id>" for a partner mailbox. A reference names
    # one case per source; two partners may well use the same numbering.
    source: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (UniqueConstraint("source", "reference", name="uq_case_external_ref_source_reference"),)


class User(Base):
    """Someone who works cases: an agent, a team lead or an administrator."""

    __tablename__ = "user"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)  # lower case
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)  # access.Role
    # An inactive user keeps their history but sees nothing, whatever their tokens say.
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Whether automatic assignment may give them cases (used by the assignment issue).
    available: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Group(Base):
    """A team of users; the queues it owns are what its members see."""

    __tablename__ = "group"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    members: Mapped[list[GroupMember]] = relationship(lazy="raise", order_by="GroupMember.created_at")


class GroupMember(Base):
    __tablename__ = "group_member"

    group_id: Mapped[str] = mapped_column(ForeignKey("group.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Queue(Base):
    """Where cases wait, owned by one group. ``case.queue`` holds the queue's ``key``."""

    __tablename__ = "queue"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    group_id: Mapped[str] = mapped_column(ForeignKey("group.id"), nullable=False, index=True)
    # The From address of mail sent on the queue's cases (unset: the system's default).
    sender_address: Mapped[str | None] = mapped_column(String(320))
    # Retired by an admin; its cases stay visible to its group (routing rules may skip it later).
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


from services.cases.casetypes import models as _casetypes_models  # noqa: E402,F401
from services.cases.customers import models as _customers_models  # noqa: E402,F401
from services.cases.knowledge import models as _knowledge_models  # noqa: E402,F401  (register the tables)
from services.cases.relations import models as _relations_models  # noqa: E402,F401
from services.cases.rules import models as _rules_models  # noqa: E402,F401
from services.cases.sla import models as _sla_models  # noqa: E402,F401
