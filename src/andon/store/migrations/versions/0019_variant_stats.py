"""variant stats: per-minute figures of each variant (primary, canary, shadow) a model
endpoint serves, one row per gateway worker

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
# Written beside another branch's 0018; the merge points this at "0018".
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "variant_stats",
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("variant", sa.String(length=16), nullable=False),
        sa.Column("model_version_id", sa.String(length=40), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker", sa.String(length=40), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        sa.Column("latency_ms_max", sa.Float(), nullable=False),
        sa.Column("histogram", sa.JSON(), nullable=False),
        sa.Column("cost_nanos", sa.BigInteger(), nullable=False),
        sa.Column("guard_violations", sa.BigInteger(), nullable=False),
        sa.Column("compared", sa.BigInteger(), nullable=False),
        sa.Column("agreed", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "endpoint",
            "variant",
            "model_version_id",
            "window_start",
            "worker",
            name=op.f("pk_variant_stats"),
        ),
    )
    with op.batch_alter_table("variant_stats", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_variant_stats_model_version_id"), ["model_version_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("variant_stats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_variant_stats_model_version_id"))
    op.drop_table("variant_stats")
