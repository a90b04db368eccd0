"""One contract, one data set, three engines: DuckDB, PostgreSQL and Spark agree.

The sample (2,000 orders with every kind of defect) is read from Parquet by DuckDB and Spark
and loaded into a real PostgreSQL server (schema ``sales``). Spark needs the ``andon[spark]``
extra and Java; its case is marked ``slow`` and skips with the reason when they are absent.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import pyarrow.parquet as pq
import pytest
import yaml

from andon.core.context import Context
from andon.core.errors import NotFound, Unavailable
from andon.data import compile as engine
from andon.data import connections, roots, service
from andon.data.contracts import parse_contract, validate_errors
from andon.data.engines import open_engine, spark_missing_reason, stop_spark
from andon.data.sample import SampleSet, contract_document
from andon.store.artifacts import ArtifactStore
from tests.data.conftest import CHECKED_AT, bind_warehouse, write_contract
from tests.pg import PostgresServer

PG_SCHEMA = "sales"


@pytest.fixture(scope="module")
def warehouse(postgres: PostgresServer, sample_set: SampleSet) -> dict[str, Any]:
    """The sample's three tables loaded into a fresh PostgreSQL database, schema ``sales``."""
    url = postgres.create_database()
    database = url.rsplit("/", 1)[1]
    con = ibis.postgres.connect(
        host="127.0.0.1", port=postgres.port, user="andon", database=database
    )
    try:
        con.raw_sql(f"CREATE SCHEMA {PG_SCHEMA}").close()
        for name in ("customers", "orders", "invoices"):
            table = pq.read_table(sample_set.folder / f"{name}.parquet")
            con.create_table(name, table, database=PG_SCHEMA)
    finally:
        con.disconnect()
    return {"port": postgres.port, "database": database}


@pytest.fixture(scope="module")
def spark() -> Iterator[None]:
    """The test session's Spark (one per process, stopped at the end); skips when absent."""
    reason = spark_missing_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"Spark is required in CI: {reason}")
        pytest.skip(reason)
    yield
    stop_spark()


def _three_server_contract(folder: Path, sample: SampleSet, warehouse: dict[str, Any]) -> Path:
    doc = contract_document()
    # Plus a composite key over a column with NULLs: distinct rows, NULLs and all, per engine.
    orders = next(o for o in doc["schema"] if o["name"] == "orders")
    orders["quality"].append(
        {"name": "orders.customer_country.duplicates", "metric": "duplicateValues",
         "arguments": {"properties": ["customer_id", "shipping_country"]},
         "mustBeLessThan": 10, "unit": "percent"}
    )  # fmt: skip
    doc["servers"] = [
        {"server": "local", "type": "parquet", "path": str(sample.folder)},
        {
            "server": "warehouse",
            "type": "postgresql",
            "host": "127.0.0.1",
            "port": warehouse["port"],
            "database": warehouse["database"],
            "schema": PG_SCHEMA,
            "customProperties": [{"property": "connection", "value": "warehouse"}],
        },
        {"server": "lake", "type": "spark", "path": str(sample.folder), "format": "parquet"},
    ]
    return write_contract(folder, yaml.safe_dump(doc, sort_keys=False), "engines.odcs.yaml")


@pytest.fixture
def sql_log() -> Iterator[list[str]]:
    """Every SQL statement Ibis compiles for execution."""
    logged: list[str] = []
    verbose, log = ibis.options.verbose, ibis.options.verbose_log
    ibis.options.verbose, ibis.options.verbose_log = True, logged.append
    yield logged
    ibis.options.verbose, ibis.options.verbose_log = verbose, log


def _outcome(scan: engine.Scan) -> dict[str, tuple[Any, ...]]:
    return {
        r.check: (r.status, r.observed, r.failed_rows, len(r.samples), r.severity)
        for r in scan.results
    }


@pytest.mark.postgres
@pytest.mark.parametrize("other", ["warehouse", pytest.param("lake", marks=pytest.mark.slow)])
def test_the_same_contract_gives_the_same_results_on_every_engine(
    other: str,
    sample_set: SampleSet,
    warehouse: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    sql_log: list[str],
) -> None:
    if other == "lake":
        request.getfixturevalue("spark")
    monkeypatch.setenv("ANDON_POSTGRES_USER", "andon")
    path = _three_server_contract(tmp_path, sample_set, warehouse)
    contract = bind_warehouse(
        parse_contract(path.read_text()), warehouse["port"], warehouse["database"]
    )

    reference = engine.run(contract, tmp_path, now=CHECKED_AT, server="local")
    assert len(sql_log) == reference.queries == 6
    sql_log.clear()
    scan = engine.run(contract, tmp_path, now=CHECKED_AT, server=other)

    # 3 table aggregates + 1 samples query + 1 missingJoins + 1 custom SQL, on every engine.
    assert len(sql_log) == scan.queries == reference.queries
    assert sum("__andon_rows" in q for q in sql_log) == 3
    assert _outcome(scan) == _outcome(reference)
    assert _outcome(scan)["orders.customer_country.duplicates"][2] > 0
    failing = {c for c, o in _outcome(scan).items() if o[0] == "fail"}
    assert set(sample_set.defects) <= failing
    for name, table in scan.tables.items():
        assert table.row_count == reference.tables[name].row_count == sample_set.rows[name]
        assert table.engine.split()[0] == {"warehouse": "postgres", "lake": "spark"}[other]
        assert all(len(fp) == 16 for fp in table.fingerprints.values())
    # A snapshot's Parquet copy (`data snapshot --materialize`) comes out whole on each engine.
    source = open_engine(contract, contract.server(other), tmp_path)
    try:
        source.write_parquet("customers", tmp_path / "copy.parquet")
    finally:
        source.close()
    copy = pq.read_table(tmp_path / "copy.parquet")
    assert copy.num_rows == sample_set.rows["customers"]
    assert copy.column_names == pq.read_schema(sample_set.folder / "customers.parquet").names


@pytest.mark.postgres
def test_a_profile_on_postgres_takes_three_queries_and_agrees_with_duckdb(
    sample_set: SampleSet,
    warehouse: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sql_log: list[str],
) -> None:
    from andon.data.profile import profile_table

    monkeypatch.setenv("ANDON_POSTGRES_USER", "andon")
    contract = bind_warehouse(
        parse_contract(_three_server_contract(tmp_path, sample_set, warehouse).read_text()),
        warehouse["port"],
        warehouse["database"],
    )
    obj = contract.table("orders")
    assert obj is not None
    found = {}
    for server in ("local", "warehouse"):
        source = open_engine(contract, contract.server(server), tmp_path)
        try:
            found[server] = profile_table(source, obj)
        finally:
            source.close()
    duck, pg = found["local"], found["warehouse"]
    assert (duck.queries, pg.queries) == (1, 3)
    assert len(sql_log) == 4
    assert duck.rows == pg.rows == 2000 and duck.sampled == pg.sampled == 1000
    for column in ("status", "shipping_country", "legacy_channel", "quantity"):
        d, p = duck.column(column), pg.column(column)
        assert (d.nulls, d.min, d.max) == (p.nulls, p.min, p.max), column
        # Exact counts on both: DuckDB's sample is the whole 2,000-row table.
        assert d.top_values_complete == p.top_values_complete, column
        if d.top_values_complete:
            assert d.top_values == p.top_values, column
    assert duck.column("status").top_values == pg.column("status").top_values


@pytest.mark.postgres
def test_a_postgres_dataset_is_snapshotted_and_materialized(
    admin: Context,
    sample_set: SampleSet,
    warehouse: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from andon.auth import service as auth

    monkeypatch.setenv("ANDON_POSTGRES_USER", "andon")
    path = _three_server_contract(tmp_path, sample_set, warehouse)
    auth.create_team(admin, "shop")
    roots.add_root(admin, "shop", sample_set.folder)  # its file server reads the sample
    connections.add_connection(
        admin, "warehouse", host="127.0.0.1", port=warehouse["port"],
        database=warehouse["database"], user="andon", password_env="ANDON_POSTGRES_PASSWORD",
    )  # fmt: skip
    service.apply_contract(admin, path, "shop")
    pg = service.snapshot_dataset(admin, "shop/orders", server="warehouse", materialize=True)
    assert pg.row_count == sample_set.rows["orders"]
    assert pg.location.endswith(f"/{PG_SCHEMA}.orders") and "andon@" not in pg.location
    assert pg.artifact_digest is not None
    copy = pq.read_table(ArtifactStore(admin.settings.artifact_dir).path_for(pg.artifact_digest))
    assert copy.num_rows == sample_set.rows["orders"]
    # Fingerprints are per engine: the same rows read by DuckDB are another version.
    local = service.snapshot_dataset(admin, "shop/orders", server="local")
    assert local.id != pg.id and local.row_count == pg.row_count


@pytest.mark.postgres
def test_a_table_missing_on_postgres_is_not_found_naming_it(
    sample_set: SampleSet,
    warehouse: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANDON_POSTGRES_USER", "andon")
    doc = yaml.safe_load(_three_server_contract(tmp_path, sample_set, warehouse).read_text())
    doc["schema"] = [o for o in doc["schema"] if o["name"] == "customers"]
    doc["schema"][0]["physicalName"] = "clients"
    doc.pop("quality", None)
    doc.pop("slaProperties", None)
    contract = bind_warehouse(
        parse_contract(yaml.safe_dump(doc)), warehouse["port"], warehouse["database"]
    )
    with pytest.raises(NotFound) as caught:
        engine.run(contract, tmp_path, now=CHECKED_AT, server="warehouse")
    message = str(caught.value)
    assert message.startswith("customers: no table postgres://127.0.0.1:")
    assert message.endswith("/sales.clients (server 'warehouse')")


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again at once: nothing listens there


def _pg_contract(port: int) -> str:
    return (
        "apiVersion: v3.0.2\nkind: DataContract\nid: pg-orders\nversion: 1.0.0\nstatus: active\n"
        f"servers: [{{server: warehouse, type: postgresql, host: 127.0.0.1, port: {port}, "
        "database: shop, customProperties: [{property: connection, value: warehouse}]}]\n"
        "schema: [{name: orders, properties: [{name: id, logicalType: integer, unique: true}]}]\n"
    )


def test_an_unreachable_server_is_unavailable_naming_it_and_stores_nothing(
    admin: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from andon.auth import service as auth

    monkeypatch.setenv("ANDON_POSTGRES_USER", "andon")
    monkeypatch.setenv("ANDON_POSTGRES_PASSWORD", "hunter2-secret")
    port = _refused_port()
    path = write_contract(tmp_path, _pg_contract(port))
    auth.create_team(admin, "shop")
    connections.add_connection(
        admin, "warehouse", host="127.0.0.1", port=port, database="shop", user="andon",
        password_env="ANDON_POSTGRES_PASSWORD",
    )  # fmt: skip
    service.apply_contract(admin, path, "shop")
    with pytest.raises(Unavailable) as caught:
        service.run_checks(admin, str(path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"server 'warehouse' (postgres at 127.0.0.1:{port}/shop (connection 'warehouse'))"
    )
    assert "refused" in message.lower()
    assert "hunter2-secret" not in message
    assert service.check_history(admin, "shop/orders") == []


def test_spark_without_java_is_unavailable_saying_what_to_install(
    sample_set: SampleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    doc = contract_document()
    doc["servers"] = [{"server": "lake", "type": "spark", "path": str(sample_set.folder)}]
    contract = parse_contract(yaml.safe_dump(doc))
    with pytest.raises(Unavailable) as caught:
        engine.run(contract, tmp_path, now=CHECKED_AT)
    assert str(caught.value) in (
        "server 'lake': the spark engine needs Java 17 (apt-get install openjdk-17-jre-headless)",
        "server 'lake': the spark engine needs the andon[spark] extra (pip install 'andon[spark]')",
    )


def test_an_unknown_server_type_or_a_password_in_the_contract_is_invalid() -> None:
    body = (
        "apiVersion: v3.0.2\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: a, type: parquet, path: .}, {server: b, type: oracle, host: h},\n"
        "          {server: c, type: postgresql, host: h, database: d, port: 99999,\n"
        "           password: pw, userEnv: 'not a name'}]\n"
        "schema: [{name: t, properties: [{name: id, logicalType: integer}]}]\n"
    )
    assert validate_errors(body) == [
        "servers[2].password: credentials do not belong in a contract: name a connection a "
        "platform-admin declared (andon connection list)",
        "servers[2].userEnv: credentials do not belong in a contract: name a connection a "
        "platform-admin declared (andon connection list)",
        "servers[2].port: must be a port number (1 to 65535), not 99999",
    ]
