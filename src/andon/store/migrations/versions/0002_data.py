"""data domain: contracts, datasets, dataset versions, check runs and results

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:59:51.457223
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_contracts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_data_contracts_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_contracts")),
        sa.UniqueConstraint("key", name=op.f("uq_data_contracts_key")),
    )
    with op.batch_alter_table("data_contracts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_contracts_team_id"), ["team_id"], unique=False)

    op.create_table(
        "data_contract_versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("contract_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("base_dir", sa.Text(), nullable=False),
        sa.Column("applied_by", sa.String(length=100), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["data_contracts.id"],
            name=op.f("fk_data_contract_versions_contract_id_data_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_contract_versions")),
        sa.UniqueConstraint(
            "contract_id", "version", name=op.f("uq_data_contract_versions_contract_id")
        ),
    )
    with op.batch_alter_table("data_contract_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_contract_versions_contract_id"), ["contract_id"], unique=False
        )

    op.create_table(
        "datasets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("asset_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contract_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_datasets_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["data_contracts.id"],
            name=op.f("fk_datasets_contract_id_data_contracts"),
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_datasets_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("asset_id", name=op.f("uq_datasets_asset_id")),
        sa.UniqueConstraint("team_id", "name", name=op.f("uq_datasets_team_id")),
    )
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_datasets_contract_id"), ["contract_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_datasets_team_id"), ["team_id"], unique=False)

    op.create_table(
        "check_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("contract_version_id", sa.String(length=40), nullable=False),
        sa.Column("server", sa.String(length=100), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("errors_failed", sa.Integer(), nullable=False),
        sa.Column("warnings_failed", sa.Integer(), nullable=False),
        sa.Column("queries", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("run_by", sa.String(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_version_id"],
            ["data_contract_versions.id"],
            name=op.f("fk_check_runs_contract_version_id_data_contract_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_runs")),
    )
    with op.batch_alter_table("check_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_check_runs_contract_version_id"), ["contract_version_id"], unique=False
        )

    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("dataset_id", sa.String(length=40), nullable=False),
        sa.Column("schema_hash", sa.String(length=64), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("fingerprints", sa.JSON(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("artifact_digest", sa.String(length=64), nullable=True),
        sa.Column("engine", sa.String(length=60), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_versions_dataset_id_datasets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_versions")),
    )
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataset_versions_dataset_id"), ["dataset_id"], unique=False
        )

    op.create_table(
        "check_results",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.String(length=40), nullable=False),
        sa.Column("check", sa.String(length=300), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("observed", sa.JSON(), nullable=True),
        sa.Column("threshold", sa.JSON(), nullable=False),
        sa.Column("failed_rows", sa.BigInteger(), nullable=True),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_check_results_dataset_id_datasets")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["check_runs.id"], name=op.f("fk_check_results_run_id_check_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "position", name=op.f("pk_check_results")),
    )
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_check_results_dataset_id"), ["dataset_id"], unique=False
        )

    op.create_table(
        "check_run_datasets",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("dataset_id", sa.String(length=40), nullable=False),
        sa.Column("dataset_version_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_check_run_datasets_dataset_id_datasets")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_check_run_datasets_dataset_version_id_dataset_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["check_runs.id"], name=op.f("fk_check_run_datasets_run_id_check_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "dataset_id", name=op.f("pk_check_run_datasets")),
    )
    with op.batch_alter_table("check_run_datasets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_check_run_datasets_dataset_version_id"),
            ["dataset_version_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("check_run_datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_run_datasets_dataset_version_id"))

    op.drop_table("check_run_datasets")
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_results_dataset_id"))

    op.drop_table("check_results")
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_versions_dataset_id"))

    op.drop_table("dataset_versions")
    with op.batch_alter_table("check_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_runs_contract_version_id"))

    op.drop_table("check_runs")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_datasets_team_id"))
        batch_op.drop_index(batch_op.f("ix_datasets_contract_id"))

    op.drop_table("datasets")
    with op.batch_alter_table("data_contract_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_contract_versions_contract_id"))

    op.drop_table("data_contract_versions")
    with op.batch_alter_table("data_contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_contracts_team_id"))

    op.drop_table("data_contracts")
