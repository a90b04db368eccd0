"""check results: a status long enough for not_checked, and results that name no dataset

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 16:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.alter_column(
            "status", existing_type=sa.String(length=10), type_=sa.String(length=16)
        )
        batch_op.alter_column("dataset_id", existing_type=sa.String(length=40), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.alter_column("dataset_id", existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column(
            "status", existing_type=sa.String(length=16), type_=sa.String(length=10)
        )
