"""indexes for queue views and filters

Revision ID: f0aeae504541
Revises: da14235c149f
Create Date: 2026-11-26 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = 'f0aeae504541'
down_revision: str | None = 'da14235c149f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
