"""telemetry budgets: a team's bytes-per-day budget and its daily usage

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("telemetry_settings") as batch:
        batch.add_column(sa.Column("budget", sa.JSON(), nullable=True))
    op.create_table(
        "telemetry_usage",
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("warned", sa.Boolean(), nullable=False),
        sa.Column("exceeded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_telemetry_usage_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("team_id", "day", name=op.f("pk_telemetry_usage")),
    )


def downgrade() -> None:
    op.drop_table("telemetry_usage")
    with op.batch_alter_table("telemetry_settings") as batch:
        batch.drop_column("budget")
