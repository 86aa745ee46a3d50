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
    pass


def downgrade() -> None:
    pass
