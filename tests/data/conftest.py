"""Sample data for the data tests: generated once per session by DuckDB, in a temp folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from andon.data.sample import SampleSet, generate
from tests.cli.conftest import andon_env, run  # noqa: F401 - the CLI fixtures, shared

GENERATED_AT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
CHECKED_AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # the `clock` fixture's time


@pytest.fixture(scope="session")
def sample_set(tmp_path_factory: pytest.TempPathFactory) -> SampleSet:
    """2,000 orders (seed 7) with every kind of defect injected."""
    return generate(tmp_path_factory.mktemp("sample"), rows=2000, seed=7, now=GENERATED_AT)


@pytest.fixture
def manifest(sample_set: SampleSet) -> dict[str, Any]:
    """The generator's own account of what it injected."""
    return dict(json.loads((sample_set.folder / "defects.json").read_text()))


def write_contract(folder: Path, body: str, name: str = "c.odcs.yaml") -> Path:
    """A contract file in ``folder``."""
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def tiny_contract(contract_id: str, table: str) -> str:
    """A one-table contract over a five-row Parquet file (unique ids), in a fresh temp folder."""
    import tempfile

    import duckdb

    folder = Path(tempfile.mkdtemp(prefix="andon-tiny-"))
    duckdb.connect().execute(
        f"COPY (SELECT range AS id FROM range(5)) TO '{folder / (table + '.parquet')}'"
    )
    return str(
        write_contract(
            folder,
            f"apiVersion: v3.0.2\nkind: DataContract\nid: {contract_id}\nversion: 1.0.0\n"
            "status: active\nservers: [{server: local, type: parquet, path: .}]\n"
            f"schema: [{{name: {table}, properties: [{{name: id, logicalType: integer, "
            "unique: true}]}]\n",
        )
    )


def bind_warehouse(contract: Any, port: int, database: str) -> Any:
    """``contract`` with its postgresql servers bound to a connection to the test server, as
    :func:`andon.data.connections.bind` does from the store (the user from
    ``ANDON_POSTGRES_USER``, the password from ``ANDON_POSTGRES_PASSWORD``)."""
    import os
    from dataclasses import replace
    from datetime import UTC, datetime

    from andon.data.connections import ConnectionRecord, bind_server

    record = ConnectionRecord(
        "warehouse", "postgresql", "127.0.0.1", port, database,
        os.environ.get("ANDON_POSTGRES_USER", ""), "ANDON_POSTGRES_PASSWORD", "test",
        datetime.now(UTC),
    )  # fmt: skip
    servers = tuple(bind_server(s, record, s.name) for s in contract.servers)
    return replace(contract, servers=servers)


LEGACY_SAMPLE = Path(__file__).parent / "fixtures" / "legacy-sample.odcs.yaml"
"""The sample contract in andon's pre-standard dialect (as written before issue 14)."""


def legacy_document() -> dict[str, Any]:
    """A fresh copy of the pre-standard sample contract."""
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(LEGACY_SAMPLE.read_text(encoding="utf-8"))
    return loaded
