"""indexes for queue views and filters

The case list's filters, newest first, at a million cases (tests/bench/case_queries.py shows
the plans): a status in one queue (and a priority or requester) walks
``ix_case_queue_status_number`` backwards and stops after a page, where it used to AND two
single-column bitmaps and sort; the queue view of a status category across the caller's
queues reads only the matching rows of ``ix_case_status_category_queue_number``. Indexes only,
so SQLite does not rebuild the table and its full-text triggers stay.

Revision ID: f0aeae504541
Revises: da14235c149f
Create Date: 2026-11-26 17:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'f0aeae504541'
down_revision: str | None = 'da14235c149f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_case_queue_status_number'), ['queue', 'status', 'number'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_case_status_category_queue_number'),
            ['status_category', 'queue', 'number'],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_status_category_queue_number'))
        batch_op.drop_index(batch_op.f('ix_case_queue_status_number'))
