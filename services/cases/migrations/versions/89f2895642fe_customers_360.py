"""customers 360

Revision ID: 89f2895642fe
Revises: 417935f52df6
Create Date: 2026-11-26 16:16:24.804925
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "89f2895642fe"
down_revision: str | None = "417935f52df6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("code", name=op.f("uq_product_code")),
    )
    op.create_table(
        "organisation_profile",
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_organisation_profile_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_organisation_profile")),
        sa.UniqueConstraint("number", name=op.f("uq_organisation_profile_number")),
    )
    op.create_table(
        "agreement",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=True),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("valid_from", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sla", sa.String(length=60), nullable=False),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(organisation_id IS NULL) <> (customer_id IS NULL)", name=op.f("ck_agreement_holder")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_agreement_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_agreement_organisation_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement")),
        sa.UniqueConstraint("number", name=op.f("uq_agreement_number")),
    )
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreement_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agreement_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "asset",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("organisation_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_asset_customer_id_customer")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_asset_organisation_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset")),
        sa.UniqueConstraint("identifier", name=op.f("uq_asset_identifier")),
    )
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_asset_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_asset_type"), ["type"], unique=False)

    op.create_table(
        "customer_profile",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_customer_profile_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_profile")),
    )
    op.create_table(
        "product_holder",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("organisation_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(organisation_id IS NULL) <> (customer_id IS NULL)", name=op.f("ck_product_holder_holder")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_product_holder_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_product_holder_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_product_holder_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_holder")),
        sa.UniqueConstraint("product_id", "customer_id", name="uq_product_holder_product_customer"),
        sa.UniqueConstraint("product_id", "organisation_id", name="uq_product_holder_product_organisation"),
    )
    with op.batch_alter_table("product_holder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_holder_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_product_holder_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_product_holder_product_id"), ["product_id"], unique=False)

    op.create_table(
        "asset_case",
        sa.Column("asset_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"], name=op.f("fk_asset_case_asset_id_asset")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_asset_case_case_id_case")),
        sa.PrimaryKeyConstraint("asset_id", "case_id", name=op.f("pk_asset_case")),
    )
    with op.batch_alter_table("asset_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_case_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("asset_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_case_case_id"))

    op.drop_table("asset_case")
    with op.batch_alter_table("product_holder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_holder_product_id"))
        batch_op.drop_index(batch_op.f("ix_product_holder_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_product_holder_customer_id"))

    op.drop_table("product_holder")
    op.drop_table("customer_profile")
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_type"))
        batch_op.drop_index(batch_op.f("ix_asset_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_asset_customer_id"))

    op.drop_table("asset")
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_agreement_customer_id"))

    op.drop_table("agreement")
    op.drop_table("organisation_profile")
    op.drop_table("product")
