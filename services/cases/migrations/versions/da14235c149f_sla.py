"""sla policies, calendars and the sla timer

Revision ID: da14235c149f
Revises: b673419a0cfb
Create Date: 2026-11-26 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = 'da14235c149f'
down_revision: str | None = 'b673419a0cfb'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_calendar",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendar")),
        sa.UniqueConstraint("key", name=op.f("uq_sla_calendar_key")),
    )
    op.create_table(
        "sla_policy",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=True),
        sa.Column("case_type", sa.String(length=60), nullable=True),
        sa.Column("agreement_sla", sa.String(length=60), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("warn_ratio", sa.Float(), nullable=True),
        sa.Column("calendar_key", sa.String(length=100), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policy")),
    )
    op.create_table(
        "case_sla",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("policy_id", sa.String(length=36), nullable=True),
        sa.Column("calendar_key", sa.String(length=100), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("warn_ratio", sa.Float(), nullable=True),
        sa.Column("started_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("initial_category", sa.String(length=40), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("first_response_at", shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("emitted", sa.JSON(), nullable=False),
        sa.Column("next_check_at", shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_case_sla_case_id_case")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_sla")),
    )
    with op.batch_alter_table("case_sla", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_sla_next_check_at"), ["next_check_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_sla", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_sla_next_check_at"))

    op.drop_table("case_sla")
    op.drop_table("sla_policy")
    op.drop_table("sla_calendar")
