"""data roots: the folders a team's file and DuckDB servers may read

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_roots",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_data_roots_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_roots")),
        sa.UniqueConstraint("team_id", "path", name=op.f("uq_data_roots_team_id")),
    )
    with op.batch_alter_table("data_roots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_roots_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("data_roots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_roots_team_id"))
    op.drop_table("data_roots")
