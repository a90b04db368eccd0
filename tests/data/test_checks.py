"""The check engine on real DuckDB: every injected defect caught, one scan per table."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import duckdb
import ibis
import pytest

from andon.core.errors import Invalid, NotFound
from andon.data import compile as engine
from andon.data.contracts import parse_contract, read_contract_file
from andon.data.report import to_junit
from andon.data.sample import DEFECTS, SampleSet
from tests.data.conftest import CHECKED_AT, write_contract


@pytest.fixture(scope="module")
def scan(sample_set: SampleSet) -> engine.Scan:
    contract = parse_contract(read_contract_file(sample_set.contract))
    return engine.run(contract, sample_set.folder, now=CHECKED_AT)


def _by_name(scan: engine.Scan) -> dict[str, Any]:
    return {r.check: r for r in scan.results}


@pytest.mark.parametrize("name", [d[0] for d in DEFECTS])
def test_each_injected_row_defect_is_caught_with_its_exact_count(
    scan: engine.Scan, manifest: dict[str, Any], name: str
) -> None:
    result = _by_name(scan)[name]
    assert result.status == "fail", result
    assert result.failed_rows == manifest["defects"][name]
    assert 0 < len(result.samples) <= 10


def test_the_exact_counts_for_2000_rows_seed_7(scan: engine.Scan) -> None:
    """Pinned by hand, so a generator and checker that drift together still fail here."""
    got = {r.check: r.failed_rows for r in scan.results if r.failed_rows}
    assert got == {
        "orders.shipping_country.missing": 40,
        "orders.status.valid": 50,
        "orders.weight_kg.unit": 20,
        "orders.amount_usd.unit": 16,
        "orders.quantity.range": 10,
        "orders.order_ref.format": 8,
        "orders.customer_id.foreignKey": 25,
        "orders.order_id.unique": 4,
    }
    results = _by_name(scan)
    assert results["orders.shipping_country.missing"].observed == 2.0  # percent
    assert results["orders.customer_id.foreignKey"].observed == 25  # rows


def test_schema_drift_and_stale_data_are_caught(scan: engine.Scan) -> None:
    results = _by_name(scan)
    extra = results["orders.schema.extra_columns"]
    assert (extra.status, extra.severity, extra.samples) == (
        "fail",
        "warning",
        [{"column": "legacy_channel", "actual": "string"}],
    )
    types = results["customers.schema.column_types"]
    assert types.status == "fail" and types.samples == [
        {"column": "signup_date", "expected": "date", "actual": "string"}
    ]
    assert results["orders.schema.missing_columns"].status == "pass"
    stale = results["invoices.issued_at.latency"]
    assert stale.status == "fail" and stale.observed >= 10 * 86400 + 3600
    fresh = results["orders.order_ts.latency"]
    assert fresh.status == "pass" and fresh.observed <= 86400


def test_everything_else_passes(scan: engine.Scan, manifest: dict[str, Any]) -> None:
    failing = {r.check for r in scan.results if r.status != "pass"}
    assert failing == set(manifest["defects"])
    results = _by_name(scan)
    assert results["orders.rowCount"].observed == 2000
    assert results["orders.amount_usd.negative"].status == "pass"  # custom SQL ran


def test_pii_columns_are_masked_in_samples(scan: engine.Scan) -> None:
    sample = _by_name(scan)["orders.status.valid"].samples[0]
    assert sample["status"] == "shiped"
    assert sample["customer_email"] == "***"
    assert sample["order_ref"].startswith("ORD-")  # not PII: shown
    assert all(not key.startswith("__andon") for key in sample)


def test_duplicate_samples_show_the_duplicated_keys(scan: engine.Scan) -> None:
    samples = _by_name(scan)["orders.order_id.unique"].samples
    ids = [s["order_id"] for s in samples]
    assert ids and all(ids.count(i) == 2 for i in ids)


@pytest.fixture
def sql_log() -> Iterator[list[str]]:
    """Every SQL statement Ibis executes."""
    logged: list[str] = []
    verbose, log = ibis.options.verbose, ibis.options.verbose_log
    ibis.options.verbose, ibis.options.verbose_log = True, logged.append
    yield logged
    ibis.options.verbose, ibis.options.verbose_log = verbose, log


def test_one_aggregate_per_table_plus_one_per_cross_table_and_sql_check(
    sample_set: SampleSet, sql_log: list[str]
) -> None:
    contract = parse_contract(read_contract_file(sample_set.contract))
    scan = engine.run(contract, sample_set.folder, now=CHECKED_AT)
    # 3 table aggregates + 1 samples query (only orders has failing row checks)
    # + 1 missingJoins + 1 custom SQL.
    assert len(sql_log) == scan.queries == 6
    aggregates = [q for q in sql_log if "__andon_rows" in q]
    assert len(aggregates) == 3
    orders = next(q for q in aggregates if 'FROM "orders"' in q)
    # Every single-table check of orders is in that one statement.
    for name in ("status", "quantity", "amount_usd", "weight_kg", "order_ref", "order_ts"):
        assert f'"{name}"' in orders
    assert sum("UNION ALL" in q for q in sql_log) == 1


def test_a_passing_table_costs_exactly_one_query(tmp_path: Path, sql_log: list[str]) -> None:
    duckdb.connect().execute(
        f"COPY (SELECT range AS id, 'a' AS s FROM range(100)) TO '{tmp_path / 't.parquet'}'"
    )
    path = write_contract(tmp_path, _one_table(unique=True, rule="{metric: nullValues}"))
    scan = engine.run(parse_contract(path.read_text()), tmp_path, now=CHECKED_AT)
    assert all(r.status == "pass" for r in scan.results)
    assert len(sql_log) == scan.queries == 1


def _one_table(*, unique: bool = False, rule: str = "", server: str = "") -> str:
    quality = f", quality: [{rule}]" if rule else ""
    return (
        "apiVersion: v3.0.2\nkind: DataContract\nid: t\nversion: '1'\nstatus: active\n"
        + (server or "servers: [{server: local, type: parquet, path: .}]\n")
        + f"schema: [{{name: t, properties: [{{name: id, logicalType: integer, "
        f"unique: {str(unique).lower()}}}, {{name: s, logicalType: string{quality}}}]}}]\n"
    )


def test_a_rule_on_a_column_the_table_lacks_is_one_clear_error(tmp_path: Path) -> None:
    duckdb.connect().execute(
        f"COPY (SELECT range AS id FROM range(3)) TO '{tmp_path / 't.parquet'}'"
    )
    path = write_contract(tmp_path, _one_table(rule="{metric: nullValues}"))
    with pytest.raises(Invalid, match=r"references column 's', which t \(.*t.parquet\) lacks"):
        engine.run(parse_contract(path.read_text()), tmp_path, now=CHECKED_AT)


def test_missing_file_and_unknown_server(tmp_path: Path) -> None:
    contract = parse_contract(_one_table())
    with pytest.raises(NotFound, match=r"t: no parquet file at .*t.parquet"):
        engine.run(contract, tmp_path, now=CHECKED_AT)
    with pytest.raises(Invalid, match="no server 'prod'"):
        engine.run(contract, tmp_path, now=CHECKED_AT, server="prod")


def test_a_table_missing_from_a_duckdb_file_is_not_found(tmp_path: Path) -> None:
    duckdb.connect(str(tmp_path / "w.duckdb")).execute("CREATE TABLE other AS SELECT 1 AS id")
    server = "servers: [{server: db, type: duckdb, path: w.duckdb}]\n"
    contract = parse_contract(_one_table(server=server))
    with pytest.raises(NotFound, match=r"^t \(.*w\.duckdb\): no such table: .*t does not exist"):
        engine.run(contract, tmp_path, now=CHECKED_AT)


def test_malformed_regex_for_the_engine_is_one_clear_error(tmp_path: Path) -> None:
    duckdb.connect().execute(
        f"COPY (SELECT range AS id, 'a' AS s FROM range(3)) TO '{tmp_path / 't.parquet'}'"
    )
    # Valid for Python's re, not for DuckDB's RE2 (look-ahead).
    rule = "{metric: invalidValues, arguments: {pattern: 'a(?=b)'}}"
    path = write_contract(tmp_path, _one_table(rule=rule))
    with pytest.raises(Invalid, match=r"^t \(.*t.parquet\): .*"):
        engine.run(parse_contract(path.read_text()), tmp_path, now=CHECKED_AT)


def test_malformed_sql_is_one_clear_error(tmp_path: Path) -> None:
    duckdb.connect().execute(
        f"COPY (SELECT range AS id, 'a' AS s FROM range(3)) TO '{tmp_path / 't.parquet'}'"
    )
    rule = "{type: sql, query: 'SELEC COUNT(*) FROM ${object}', mustBe: 0}"
    path = write_contract(tmp_path, _one_table(rule=rule))
    with pytest.raises(Invalid, match=r"check t.s.sql: the SQL does not run: Parser Error"):
        engine.run(parse_contract(path.read_text()), tmp_path, now=CHECKED_AT)


def test_non_utf8_csv_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes("id,s\n1,caf\xe9\n2,na\xefve\n".encode("latin-1"))
    server = "servers: [{server: files, type: csv, path: .}]\n"
    contract = parse_contract(_one_table(server=server))
    with pytest.raises(Invalid, match="not valid UTF-8"):
        engine.run(contract, tmp_path, now=CHECKED_AT)


def test_csv_and_duckdb_servers_give_the_same_results(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "db.duckdb"))
    con.execute("CREATE TABLE t AS SELECT range AS id, CASE WHEN range % 4 = 0 THEN NULL "
                "ELSE 'x' END AS s FROM range(40)")  # fmt: skip
    con.execute(f"COPY t TO '{tmp_path / 't.csv'}' (HEADER)")
    con.close()
    rule = "{metric: nullValues, mustBeLessThan: 20, unit: percent}"
    outcomes = []
    for server in (
        "servers: [{server: files, type: csv, path: .}]\n",
        "servers: [{server: db, type: duckdb, path: db.duckdb}]\n",
    ):
        scan = engine.run(parse_contract(_one_table(rule=rule, server=server)), tmp_path,
                          now=CHECKED_AT)  # fmt: skip
        outcomes.append([(r.check, r.status, r.observed, r.failed_rows) for r in scan.results])
    assert outcomes[0] == outcomes[1]
    assert ("t.s.nullValues", "fail", 25.0, 10) in outcomes[0]


def test_unit_mismatch_rule_boundaries(tmp_path: Path) -> None:
    # maximum 50 kg: 50 is fine, 50.5 is too heavy but not grams (50.5 / 1000 <= 50 though!),
    # so it counts; 60000 is too large even as grams and is left to outOfRange.
    values = "[10.0, 50.0, 50.5, 2500.0, 50000.0, 60000.0, NULL]"
    duckdb.connect().execute(f"COPY (SELECT unnest({values}) AS w) TO '{tmp_path / 'u.parquet'}'")
    doc = (
        "apiVersion: v3.0.2\nkind: DataContract\nid: u\nversion: '1'\nstatus: active\n"
        "servers: [{server: local, type: parquet, path: .}]\n"
        "schema: [{name: u, properties: [{name: w, logicalType: number, quality: "
        "[{metric: unitMismatch, arguments: {unit: kg, maximum: 50}}]}]}]\n"
    )
    scan = engine.run(parse_contract(doc), tmp_path, now=CHECKED_AT)
    [result] = [r for r in scan.results if r.kind == "unitMismatch"]
    assert result.failed_rows == 3
    assert sorted(s["w"] for s in result.samples) == [50.5, 2500.0, 50000.0]


def test_junit_has_one_failure_per_failing_error_check(scan: engine.Scan) -> None:
    doc = {
        "contract": "sample-orders",
        "dataset_version": {name: t.version_id for name, t in scan.tables.items()},
        "results": [r.as_dict() for r in scan.results],
    }
    root = ET.fromstring(to_junit(doc))  # noqa: S314 - our own output
    failures = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    expected = [r.check for r in scan.results if r.status == "fail" and r.severity == "error"]
    assert sorted(failures) == sorted(expected)
    assert sum(int(s.get("tests", 0)) for s in root.iter("testsuite")) == len(scan.results)
    warned = [c.get("name") for c in root.iter("testcase") if c.find("system-out") is not None]
    assert set(warned) == {"orders.schema.extra_columns", "orders.shipping_country.missing"}


def test_generation_is_deterministic(sample_set: SampleSet, tmp_path: Path) -> None:
    from andon.data.sample import generate
    from tests.data.conftest import GENERATED_AT

    again = generate(tmp_path / "again", rows=2000, seed=7, now=GENERATED_AT)
    for name in ("customers", "orders", "invoices"):
        a = duckdb.sql(f"SELECT * FROM '{sample_set.folder / name}.parquet'").fetchall()
        b = duckdb.sql(f"SELECT * FROM '{again.folder / name}.parquet'").fetchall()
        assert a == b
    other = generate(tmp_path / "other", rows=2000, seed=8, now=GENERATED_AT)
    assert other.defects != again.defects or (
        duckdb.sql(f"SELECT * FROM '{other.folder}/orders.parquet'").fetchall()
        != duckdb.sql(f"SELECT * FROM '{again.folder}/orders.parquet'").fetchall()
    )
    shutil.rmtree(tmp_path / "other")


def test_sample_sizes_are_bounded(tmp_path: Path) -> None:
    from andon.data.sample import generate

    with pytest.raises(Invalid, match="between 1,000 and 10,000,000"):
        generate(tmp_path, rows=999)


def test_logical_type_options_imply_range_and_pattern_checks(tmp_path: Path) -> None:
    duckdb.connect().execute(
        f"COPY (SELECT range AS id, 'A' || range AS s FROM range(10)) TO '{tmp_path / 't.parquet'}'"
    )
    doc = (
        "apiVersion: v3.0.2\nkind: DataContract\nid: t\nversion: '1'\nstatus: active\n"
        "servers: [{server: local, type: parquet, path: .}]\n"
        "schema: [{name: t, properties: ["
        "{name: id, logicalType: integer, logicalTypeOptions: {minimum: 1, maximum: 7}}, "
        "{name: s, logicalType: string, logicalTypeOptions: {pattern: '^A[0-4]$'}}, "
        "{name: gone, logicalType: string, required: true, "
        "logicalTypeOptions: {pattern: '^x$'}}]}]\n"
    )
    scan = engine.run(parse_contract(doc), tmp_path, now=CHECKED_AT)
    got = {r.check: (r.status, r.failed_rows) for r in scan.results if r.kind != "schema"}
    # 0, 8 and 9 are out of [1, 7]; A5..A9 miss the pattern; checks implied on the missing
    # column are skipped (the schema check reports the column instead).
    assert got == {"t.id.range": ("fail", 3), "t.s.pattern": ("fail", 5)}
    missing = next(r for r in scan.results if r.check == "t.schema.missing_columns")
    assert (missing.status, missing.message) == ("fail", "gone")
