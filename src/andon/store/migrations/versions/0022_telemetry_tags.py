"""telemetry tag schemas: the attribute keys a team keeps and their distinct-value limits

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 21:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("telemetry_settings") as batch:
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("telemetry_settings") as batch:
        batch.drop_column("tags")
