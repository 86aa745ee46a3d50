"""case types, fields, forms, statuses, templates

Revision ID: ddc60bb276e6
Revises: 5043a249d4a7
Create Date: 2026-11-26 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = 'ddc60bb276e6'
down_revision: str | None = '5043a249d4a7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_type",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("statuses", sa.JSON(), nullable=False),
        sa.Column("transitions", sa.JSON(), nullable=False),
        sa.Column("priority_matrix", sa.JSON(), nullable=True),
        sa.Column("default_impact", sa.String(length=20), nullable=True),
        sa.Column("default_urgency", sa.String(length=20), nullable=True),
        sa.Column("forms", sa.JSON(), nullable=False),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_type")),
        sa.UniqueConstraint("key", name=op.f("uq_case_type_key")),
    )
    op.create_table(
        "case_template",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("group", sa.String(length=100), nullable=True),
        sa.Column("priority", sa.String(length=20), nullable=True),
        sa.Column("impact", sa.String(length=20), nullable=True),
        sa.Column("urgency", sa.String(length=20), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_template")),
        sa.UniqueConstraint("key", name=op.f("uq_case_template_key")),
    )


def downgrade() -> None:
    op.drop_table("case_template")
    op.drop_table("case_type")
