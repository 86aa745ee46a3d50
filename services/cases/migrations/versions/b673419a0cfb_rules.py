"""routing rules and assignment

Revision ID: b673419a0cfb
Revises: ddc60bb276e6
Create Date: 2026-11-26 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "b673419a0cfb"
down_revision: str | None = "ddc60bb276e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_rule",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("stop", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rule")),
    )
    with op.batch_alter_table("routing_rule", schema=None) as batch_op:
        batch_op.create_index("ix_routing_rule_active_position", ["active", "position"], unique=False)

    op.create_table(
        "group_assignment",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("last_user_id", sa.String(length=36), nullable=True),
        sa.Column("last_assigned_at", shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["group.id"], name=op.f("fk_group_assignment_group_id_group")),
        sa.ForeignKeyConstraint(
            ["last_user_id"], ["user.id"], name=op.f("fk_group_assignment_last_user_id_user")
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_group_assignment")),
    )


def downgrade() -> None:
    op.drop_table("group_assignment")
    with op.batch_alter_table("routing_rule", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_rule_active_position")

    op.drop_table("routing_rule")
