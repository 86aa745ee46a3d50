"""Tables of customers 360: contact details, agreements, products and services, assets.

Phone and postal address of customers and organisations live in one-to-one ``*_profile``
tables rather than new columns on ``customer`` and ``organisation``: this package owns its
tables, and the mail path that creates customers needs none of it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.cases.models import Base
from shared.db import UtcDateTime


class CustomerProfile(Base):
    """A customer's phone and postal address."""

    __tablename__ = "customer_profile"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(500))


class OrganisationProfile(Base):
    """An organisation's organisation number (unique when given), phone and postal address."""

    __tablename__ = "organisation_profile"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(500))


class Agreement(Base):
    """A contract with an organisation or a customer (exactly one), valid from ``valid_from``
    (inclusive) to ``valid_to`` (exclusive; none: until further notice)."""

    __tablename__ = "agreement"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"), index=True)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The SLA level the agreement gives, a plain key ("gold") until SLA policies exist.
    sla: Mapped[str] = mapped_column(String(60), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (CheckConstraint("(organisation_id IS NULL) <> (customer_id IS NULL)", name="holder"),)


class Product(Base):
    """A product or service the desk supports (``kind``), known by its code."""

    __tablename__ = "product"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    description: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class ProductHolder(Base):
    """That a customer or an organisation (exactly one) has a product or service."""

    __tablename__ = "product_holder"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("product.id"), nullable=False, index=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"), index=True)
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    # NULLs are distinct in unique constraints (SQLite and PostgreSQL): each holder kind is unique.
    __table_args__ = (
        UniqueConstraint("product_id", "customer_id", name="uq_product_holder_product_customer"),
        UniqueConstraint("product_id", "organisation_id", name="uq_product_holder_product_organisation"),
        CheckConstraint("(organisation_id IS NULL) <> (customer_id IS NULL)", name="holder"),
    )


class Asset(Base):
    """An item of the inventory register, owned by an organisation and/or used by a customer."""

    __tablename__ = "asset"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(60), nullable=False, index=True)
    # Serial number, inventory tag, host name: unique as written.
    identifier: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    location: Mapped[str | None] = mapped_column(String(200))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"), index=True)
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class AssetCase(Base):
    """That a case concerns an asset."""

    __tablename__ = "asset_case"

    asset_id: Mapped[str] = mapped_column(ForeignKey("asset.id"), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
