"""routing rules and assignment

Revision ID: b673419a0cfb
Revises: ddc60bb276e6
Create Date: 2026-11-26 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = 'b673419a0cfb'
down_revision: str | None = 'ddc60bb276e6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
