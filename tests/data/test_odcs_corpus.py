"""The ODCS conformance corpus (issue 14 point 6): contracts written from the standard's docs.

Every file of ``tests/data/odcs_corpus/`` is valid under the standard's own JSON schema for
its ``apiVersion``, is read by andon as written (no dialect upgrade), survives a round trip
through YAML, and, run on the data its generator writes, gives the verdicts below: per check
name, ``(status, failed_rows)``. SLA properties other than latency and ``not_checked`` results
are asserted in their own test functions.
"""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import pyarrow.parquet as pq
import pytest
import yaml

from andon.core.yaml_limits import load_bounded
from andon.data import compile as engine
from andon.data.contracts import Contract, parse_contract
from andon.data.engines import spark_missing_reason, stop_spark
from andon.data.standard import standard_errors
from tests.cli.conftest import Run
from tests.data.conftest import bind_warehouse
from tests.pg import PostgresServer

CORPUS = Path(__file__).parent / "odcs_corpus"
FIXED_NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 12:00 at -08:00
Verdicts = dict[str, tuple[str, int | None]]


def _schema(*tables: str) -> Verdicts:
    """The three schema-conformance results of each table, all passing."""
    return {
        f"{t}.schema.{s}": ("pass", None)
        for t in tables
        for s in ("missing_columns", "extra_columns", "column_types")
    }


EXPECTED: dict[str, Verdicts] = {
    "duckdb_orders": {
        **_schema("customers", "orders"),
        "customers.customer_id.required": ("pass", 0),  # primaryKey: required and unique
        "customers.customer_id.unique": ("pass", 0),
        "customers.email.no_nulls": ("fail", 2),
        "customers.email.shape": ("pass", 0),
        "customers.tier.known": ("fail", 1),
        "orders.order_id.distinct": ("fail", 1),
        "orders.status.present": ("fail", 3),  # 15 % > 10 %
        "orders.order_customer.distinct": ("pass", 0),
        "orders.volume": ("pass", None),
        "orders.customer_id.foreignKey": ("fail", 2),
    },
    "parquet_payments": {
        **_schema("payments", "invoice_lines"),
        "payments.payment_id.few_duplicates": ("pass", 0),
        "payments.currency.mostly_set": ("pass", 1),  # 5 % < 10 %
        "payments.currency.known": ("fail", 2),  # 10 % is within [5, 50]
        "payments.not_empty": ("pass", None),
        "payments.large": ("fail", None),
        "payments.complete": ("pass", None),
        "payments.invoice_id.foreignKey": ("pass", 0),
        "payments.invoice_id+line.foreignKey": ("fail", 1),
    },
    "csv_shipments": {
        **_schema("shipments"),
        "shipments.weight_kg.plausible": ("fail", 2),
        "shipments.weight_kg.grams": ("fail", 1),
        "shipments.weight_kg.positive": ("fail", None),
    },
    "json_events": {
        **_schema("users", "events"),
        "events.kind.set": ("pass", 1),
        "events.user_id.foreignKey": ("fail", 2),
    },
    "v302_products": {
        **_schema("products"),
        "products.sku.duplicates": ("fail", 1),
        "products.colour.valid": ("fail", 1),
        "products.rows": ("pass", None),
    },
    "postgres_accounts": {
        **_schema("accounts"),
        "accounts.account_id.distinct": ("pass", 0),
        "accounts.code.shape": ("fail", 1),
        "accounts.country.missing": ("fail", 3),  # 25 % >= 20 %
        "accounts.volume": ("pass", None),
    },
    "spark_lake": {
        **_schema("readings"),
        "readings.sensor.known": ("fail", 1),
        "readings.value.nulls": ("fail", 2),
        "readings.rows": ("pass", None),
    },
}

LATENCY: dict[str, Verdicts] = {
    "duckdb_orders": {"orders.placed_at.latency": ("pass", None)},  # 0 h <= 4 d
    "csv_shipments": {"shipments.shipped_at.latency": ("fail", None)},  # 3 h > 2 h
    "json_events": {"events.happened_at.latency": ("pass", None)},  # 0 <= 1 day
    "v302_products": {"products.released_on.latency": ("pass", None)},  # 44 h <= 2 day
    "postgres_accounts": {"accounts.opened_at.latency": ("pass", None)},  # 0 min <= 1 h
}
"""Latency SLAs, checked today as ``<table>.<column>.latency``."""

SLAS: dict[str, Verdicts] = {
    # The oldest payment is 4 y old (> 3 y); the newest is 1 h old (<= 1 d).
    "parquet_payments": {
        "payments.paid_at.retention": ("fail", None),
        "payments.paid_at.frequency": ("pass", None),
    },
    # At 12:00-08:00, past 09:00-08:00, a shipment of today (09:00-08:00) exists.
    "csv_shipments": {"shipments.shipped_at.timeOfAvailability": ("pass", None)},
}
"""retention, frequency and timeOfAvailability, as issue 14 point 4 defines them."""

NOT_CHECKED: dict[str, Verdicts] = {
    "csv_shipments": {
        "shipments.labelled": ("not_checked", None),  # a type: text rule
        "sla.availability": ("not_checked", None),  # about the service, not the data
    },
}
"""What the contracts declare and andon reports ``not_checked`` (``contract.unchecked``)."""

FILES = sorted(p.name.removesuffix(".odcs.yaml") for p in CORPUS.glob("*.odcs.yaml"))
DUCKDB_ONLY = [n for n in FILES if n not in ("postgres_accounts", "spark_lake")]


def _text(name: str) -> str:
    return (CORPUS / f"{name}.odcs.yaml").read_text(encoding="utf-8")


def _generated(name: str, folder: Path, now: datetime = FIXED_NOW) -> Path:
    """The contract copied into ``folder`` beside the data its generator writes there."""
    importlib.import_module(f"tests.data.odcs_corpus.{name}").generate(folder, now)
    return Path(shutil.copy(CORPUS / f"{name}.odcs.yaml", folder))


def _verdicts(scan: engine.Scan) -> Verdicts:
    return {r.check: (r.status, r.failed_rows) for r in scan.results}


def _part(verdicts: Verdicts, names: Verdicts) -> Verdicts:
    return {k: v for k, v in verdicts.items() if k in names}


def _core(verdicts: Verdicts, name: str) -> Verdicts:
    """The verdicts of everything but SLA properties and ``not_checked`` results."""
    skip = {**LATENCY.get(name, {}), **SLAS.get(name, {}), **NOT_CHECKED.get(name, {})}
    return {k: v for k, v in verdicts.items() if k not in skip and v[0] != "not_checked"}


def test_the_corpus_covers_every_file_and_version() -> None:
    assert set(FILES) == set(EXPECTED)
    versions = [yaml.safe_load(_text(n))["apiVersion"] for n in FILES]
    assert sorted(set(versions)) == ["v3.0.2", "v3.1.0", "v3.2.0"]
    assert versions.count("v3.1.0") >= 4


@pytest.mark.parametrize("name", FILES)
def test_each_file_is_valid_odcs_and_read_as_written(name: str) -> None:
    text = _text(name)
    assert standard_errors(load_bounded(text, source=name, timestamps=False)) == []
    contract = parse_contract(text, source=name)
    assert contract.legacy == ()
    assert {u.name for u in contract.unchecked} == set(NOT_CHECKED.get(name, {}))


@pytest.mark.parametrize("name", FILES)
def test_the_document_round_trips_as_valid_odcs(name: str) -> None:
    document = parse_contract(_text(name), source=name).document
    again = load_bounded(yaml.safe_dump(document, sort_keys=False), source=name, timestamps=False)
    assert again == document
    assert standard_errors(again) == []


@pytest.mark.parametrize("name", DUCKDB_ONLY)
def test_the_checks_give_the_expected_verdicts(name: str, tmp_path: Path) -> None:
    path = _generated(name, tmp_path)
    scan = engine.run(parse_contract(path.read_text(), source=name), tmp_path, now=FIXED_NOW)
    verdicts = _verdicts(scan)
    assert _core(verdicts, name) == EXPECTED[name]
    assert _part(verdicts, LATENCY.get(name, {})) == LATENCY.get(name, {})


@pytest.mark.parametrize("name", sorted(SLAS))
def test_retention_frequency_and_time_of_availability_verdicts(name: str, tmp_path: Path) -> None:
    path = _generated(name, tmp_path)
    scan = engine.run(parse_contract(path.read_text(), source=name), tmp_path, now=FIXED_NOW)
    assert _part(_verdicts(scan), SLAS[name]) == SLAS[name]


@pytest.mark.parametrize("name", sorted(NOT_CHECKED))
def test_text_rules_and_service_slas_are_reported_not_checked(name: str, tmp_path: Path) -> None:
    path = _generated(name, tmp_path)
    scan = engine.run(parse_contract(path.read_text(), source=name), tmp_path, now=FIXED_NOW)
    assert _part(_verdicts(scan), NOT_CHECKED[name]) == NOT_CHECKED[name]


@pytest.mark.postgres
def test_the_postgresql_contract_on_a_real_server(
    postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "postgres_accounts"
    path = _generated(name, tmp_path)
    database = postgres.create_database().rsplit("/", 1)[1]
    con = ibis.postgres.connect(
        host="127.0.0.1", port=postgres.port, user="andon", database=database
    )
    try:
        con.raw_sql("CREATE SCHEMA sales").close()
        con.create_table("accounts", pq.read_table(tmp_path / "accounts.parquet"), database="sales")
    finally:
        con.disconnect()
    monkeypatch.setenv("ANDON_POSTGRES_USER", "andon")
    # The standard requires host, port and database, and a bound server's must be its
    # connection's: the file is pointed at this session's server before it is read.
    text = path.read_text().replace("host: localhost", "host: 127.0.0.1")
    text = text.replace("port: 5432", f"port: {postgres.port}")
    text = text.replace("database: shop", f"database: {database}")
    contract: Contract = parse_contract(text, source=name)
    assert contract.servers[0].connection == "warehouse"
    scan = engine.run(bind_warehouse(contract, postgres.port, database), tmp_path, now=FIXED_NOW)
    verdicts = _verdicts(scan)
    assert _core(verdicts, name) == EXPECTED[name]
    assert _part(verdicts, LATENCY[name]) == LATENCY[name]


@pytest.fixture(scope="module")
def spark() -> Iterator[None]:
    """Spark for this module (stopped at the end); skips with the reason when absent."""
    reason = spark_missing_reason()
    if reason:
        pytest.skip(reason)
    yield
    stop_spark()


@pytest.mark.slow
def test_the_spark_contract_through_a_custom_server(spark: None, tmp_path: Path) -> None:
    name = "spark_lake"
    path = _generated(name, tmp_path)
    contract = parse_contract(path.read_text(), source=name)
    assert contract.servers[0].engine == "spark"
    scan = engine.run(contract, tmp_path, now=FIXED_NOW)
    assert _core(_verdicts(scan), name) == EXPECTED[name]


def test_andon_check_run_gives_the_same_verdicts(run: Run, tmp_path: Path) -> None:
    # The CLI measures SLAs against the wall clock, so the data is generated now.
    name = "duckdb_orders"
    path = _generated(name, tmp_path, datetime.now(UTC))
    assert run("init").returncode == 0
    assert run("team", "create", "corpus").returncode == 0
    applied = run("contract", "apply", str(path), "--team", "corpus")
    assert applied.returncode == 0, applied.stderr
    checked = run("check", "run", str(path), "--format", "json")
    assert checked.returncode == 4, checked.stderr
    report: dict[str, Any] = json.loads(checked.stdout)
    verdicts = {r["check"]: (r["status"], r["failed_rows"]) for r in report["results"]}
    assert _core(verdicts, name) == EXPECTED[name]
    assert _part(verdicts, LATENCY[name]) == LATENCY[name]
