"""runs: a heartbeat, so a run whose process died can be told from one still running

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 18:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    # A run still running from before the heartbeat: its last sign of life is its start.
    op.execute("UPDATE runs SET heartbeat_at = started_at WHERE status = 'running'")


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat_at")
