"""telemetry: each team's tail-sampling document and masking allow-list

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telemetry_settings",
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("sampling", sa.JSON(), nullable=True),
        sa.Column("unmasked", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_telemetry_settings_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_telemetry_settings")),
    )


def downgrade() -> None:
    op.drop_table("telemetry_settings")
