"""Tables of knowledge: KB articles with their tags, info board entries, standard solutions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.cases.models import Base
from shared.db import UtcDateTime


class KbArticle(Base):
    """A knowledge-base article; published public ones make up the FAQ."""

    __tablename__ = "kb_article"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    # Sanitised on the way in (nh3); body_text is derived from it, for search.
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    lang: Mapped[str] = mapped_column(String(2), nullable=False)
    # "internal" (agents only) or "public" (customers and the portal too).
    visibility: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    author: Mapped[str | None] = mapped_column(String(200))
    # The case whose solution this was drafted from, and the reply it was drafted from. No
    # foreign keys: an article outlives the case it came from (a case may be deleted or merged).
    source_case_number: Mapped[int | None] = mapped_column(Integer, index=True)
    source_article_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # Counts edits: 1 when created, one more for every update that changed something.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    # When it last became published; kept when it is archived.
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    tag_rows: Mapped[list[KbArticleTag]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="KbArticleTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return sorted(row.tag for row in self.tag_rows)


class KbArticleTag(Base):
    """A tag of a KB article (lower case), a row each so that the tag filter is one indexed lookup."""

    __tablename__ = "kb_article_tag"

    kb_article_id: Mapped[str] = mapped_column(ForeignKey("kb_article.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)


class InfoBoardEntry(Base):
    """A known problem or a piece of news, shown to its audience while it is valid."""

    __tablename__ = "info_board_entry"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    audience: Mapped[str] = mapped_column(String(20), nullable=False)
    # Valid from valid_from (inclusive) until valid_to (exclusive); no valid_to: until further notice.
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    author: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    organisation_rows: Mapped[list[InfoBoardEntryOrganisation]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="InfoBoardEntryOrganisation.organisation_id"
    )

    @property
    def organisation_ids(self) -> list[str]:
        return sorted(row.organisation_id for row in self.organisation_rows)


class InfoBoardEntryOrganisation(Base):
    """An organisation an info board entry is meant for; an entry without any is for all."""

    __tablename__ = "info_board_entry_organisation"

    entry_id: Mapped[str] = mapped_column(ForeignKey("info_board_entry.id"), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), primary_key=True, index=True)


class StandardSolution(Base):
    """A reply template with placeholders (``{customer.name}``), filled in for a case."""

    __tablename__ = "standard_solution"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    # Plain text, like a case article's body_text; placeholders are filled by domain.render.
    body: Mapped[str] = mapped_column(Text, nullable=False)
    lang: Mapped[str] = mapped_column(String(2), nullable=False)
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    author: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
