"""index for least-open assignment

Revision ID: 8c2f4d7a9e10
Revises: 3b9e61f0c2d4
Create Date: 2026-11-26 18:12:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '8c2f4d7a9e10'
down_revision: str | None = '3b9e61f0c2d4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_case_assignee_status_category'), ['assignee', 'status_category'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_assignee_status_category'))
