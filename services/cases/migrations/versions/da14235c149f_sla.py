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
    pass


def downgrade() -> None:
    pass
