"""audit chain keyed with HMAC: per-entry key id, the head's keyed_from switch point

Entries already in the log keep their plain SHA-256 hashes (the legacy scheme); the switch
point ``audit_head.keyed_from`` is set to the entry after the current head, so every entry
appended from now on must carry an HMAC under the audit key.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("key_id", sa.String(length=16), nullable=True))
    op.add_column(
        "audit_head",
        sa.Column(
            "keyed_from",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="1",
            nullable=False,
        ),
    )
    op.execute("UPDATE audit_head SET keyed_from = seq + 1")


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch_op:
        batch_op.drop_column("keyed_from")
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_column("key_id")
