"""Profiles on real DuckDB: one scan per table, the statistics, PII masked, units, and counts
estimated from a row-order-independent sample beyond 10,000 rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pytest

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Forbidden, NotFound
from andon.data import service as data
from andon.data.contracts import SchemaObject, parse_contract, read_contract_file
from andon.data.profile import MASK, likely_unit, open_source, profile_dataset, profile_table
from andon.data.sample import SampleSet
from tests.conftest import as_principal
from tests.data.conftest import write_contract


@pytest.fixture
def sql_log() -> Iterator[list[str]]:
    """Every SQL statement Ibis executes."""
    logged: list[str] = []
    verbose, log = ibis.options.verbose, ibis.options.verbose_log
    ibis.options.verbose, ibis.options.verbose_log = True, logged.append
    yield logged
    ibis.options.verbose, ibis.options.verbose_log = verbose, log


def _profile(sample_set: SampleSet, table: str, **kw: Any) -> Any:
    contract = parse_contract(read_contract_file(sample_set.contract))
    obj = contract.table(table)
    assert obj is not None
    source = open_source(contract, sample_set.folder, table, None)
    try:
        return profile_table(source, obj, **kw)
    finally:
        source.close()


@pytest.fixture(scope="module")
def orders(sample_set: SampleSet) -> Any:
    return _profile(sample_set, "orders")


def test_one_query_and_one_scan_per_table(sample_set: SampleSet, sql_log: list[str]) -> None:
    contract = parse_contract(read_contract_file(sample_set.contract))
    obj = contract.table("orders")
    assert obj is not None
    source = open_source(contract, sample_set.folder, "orders", None)
    try:
        found = profile_table(source, obj)
        assert found.queries == len(sql_log) == 1
        [statement] = sql_log
        # DuckDB's own plan: the one statement reads the table once.
        plan = "\n".join(r[1] for r in source.con.con.sql("EXPLAIN " + statement).fetchall())
    finally:
        source.close()
    assert plan.count("READ_PARQUET") == 1, plan
    lowered = statement.lower()
    # Every column's statistics, top values and the sample come from that statement.
    assert lowered.count("approx_count_distinct(") == 11
    assert lowered.count("approx_quantile(") == 5  # the numeric columns
    assert lowered.count("approx_top_k(") == 10  # all but order_id, declared unique
    assert lowered.count("min_by(") == 1
    assert found.sampled == 1000


def test_statistics_match_the_generated_data(orders: Any) -> None:
    assert orders.rows == 2000 and orders.sampled == 1000
    country = orders.column("shipping_country")
    assert (country.nulls, country.null_share) == (40, 0.02)
    assert country.top_values_complete
    assert {v["value"] for v in country.top_values} == {"US", "DE", "FR", "GB", "JP"}
    assert sum(v["count"] for v in country.top_values) == 1960
    status = orders.column("status")
    assert {"value": "shiped", "count": 50} in status.top_values  # the injected typo, exactly
    assert not status.top_value_counts_estimated  # 2,000 rows: the sample is the whole table
    quantity = orders.column("quantity")
    assert (quantity.min, quantity.max) == (-1, 100)
    assert quantity.quantiles is not None and set(quantity.quantiles) == {
        "p5",
        "p25",
        "p50",
        "p75",
        "p95",
    }
    assert 45 <= quantity.quantiles["p50"] <= 56 and quantity.mean == pytest.approx(50.3, abs=1.0)
    order_id = orders.column("order_id")
    assert 1800 <= order_id.distinct <= 2200  # approximate
    assert order_id.top_values is None  # nearly unique: no top values
    assert orders.column("order_ts").type.startswith("timestamp")


def test_formats_and_units(orders: Any) -> None:
    assert orders.column("customer_email").formats == {"email": 1.0}
    assert orders.column("shipping_country").formats == {"country_code": 1.0}
    assert orders.column("amount_usd").unit == {"unit": "USD", "from": "name word 'usd'"}
    assert orders.column("weight_kg").unit == {"unit": "kg", "from": "name word 'kg'"}
    assert orders.column("quantity").unit is None


def test_pii_is_masked_from_contract_and_classifier(orders: Any, sample_set: SampleSet) -> None:
    email = orders.column("customer_email")  # classification: pii in the contract
    assert email.pii and email.min == email.max == MASK
    assert email.examples and set(email.examples) == {MASK}
    assert {v["value"] for v in email.top_values} == {MASK}
    assert not orders.column("order_ref").pii and orders.column("order_ref").examples[0].startswith(
        "ORD"
    )
    # A stored classification masks a column the contract does not mark.
    again = _profile(sample_set, "orders", pii={"order_ref"})
    assert again.column("order_ref").examples == [MASK] * 3
    # The classifier alone masks an undeclared email column.
    folder = Path(sample_set.folder).parent / "undeclared"
    folder.mkdir(exist_ok=True)
    duckdb.connect().execute(
        f"COPY (SELECT range AS id, 'p' || range || '@x.org' AS c1 FROM range(50)) "
        f"TO '{folder / 't.parquet'}'"
    )
    path = write_contract(
        folder,
        "apiVersion: v3.0.2\nkind: DataContract\nid: u\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: local, type: parquet, path: .}]\n"
        "schema: [{name: t, properties: [{name: id, logicalType: integer}, "
        "{name: c1, logicalType: string}]}]\n",
    )
    contract = parse_contract(path.read_text())
    source = open_source(contract, folder, "t", None)
    try:
        found = profile_table(source, contract.schema[0])
    finally:
        source.close()
    assert found.column("c1").pii and found.column("c1").max == MASK
    assert "p0@x.org" not in str(found.as_dict())


@pytest.mark.parametrize(
    ("name", "values", "unit", "note"),
    [
        ("amount_usd", [12.5, 99.99, 7.25], "USD", None),
        ("amount_usd", [1250, 9999, 725], "USD", "likely minor units (cents)"),
        ("price", [1250, 9999, 725], "currency", "likely minor units (cents)"),
        ("amount_cents", [12.5, 99.99], "cents", "likely major units"),
        ("weight_kg", [2500.0, 3000.0], "kg", "likely grams"),
        ("weight_g", [0.2, 0.5], "g", "likely kilograms"),
        ("discount_pct", [0.1, 0.25], "percent", "likely a fraction"),
        ("churn_rate", [12.0, 30.0], "fraction", "likely percent"),
        ("latency_ms", [12.0, 30.0], "ms", None),
        ("quantity", [1, 2, 3], None, None),
    ],
)
def test_likely_unit_rules(
    name: str, values: list[float], unit: str | None, note: str | None
) -> None:
    ordered = sorted(values)
    quantiles = {"p50": ordered[len(ordered) // 2]}
    got = likely_unit(name, quantiles, values)
    if unit is None:
        assert got is None
        return
    assert got is not None and got["unit"] == unit
    assert (note in got.get("scale_note", "")) if note else "scale_note" not in got


def test_profile_service_checks_dataset_read(admin: Context, sample_set: SampleSet) -> None:
    auth.create_team(admin, "fraud-ml")
    auth.create_team(admin, "other")
    data.apply_contract(admin, sample_set.contract, "fraud-ml")
    found = profile_dataset(admin, "fraud-ml/invoices")
    assert found.dataset == "fraud-ml/invoices" and found.rows == 1000 and found.queries == 1
    assert found.as_dict()["columns"][0]["name"] == "invoice_id"
    auth.create_principal(admin, "vic")
    auth.bind_role(admin, "vic", "viewer", scope="team", target="other")
    with pytest.raises(Forbidden):
        profile_dataset(as_principal(admin, "vic"), "fraud-ml/invoices")
    with pytest.raises(NotFound, match="no dataset 'fraud-ml/nope'"):
        profile_dataset(admin, "fraud-ml/nope")


def _skewed(folder: Path, rows: int, *, reverse: bool = False) -> SchemaObject:
    """``rows`` rows: ``kind`` a 60/30/10 split plus five 'z', ``pair`` every value twice,
    ``id`` unique (declared so); optionally written in reverse order."""
    folder.mkdir(parents=True, exist_ok=True)
    duckdb.connect().execute(
        f"""COPY (SELECT i AS id,
                   CASE WHEN i < 5 THEN 'z' WHEN i % 10 < 6 THEN 'a'
                        WHEN i % 10 < 9 THEN 'b' ELSE 'c' END AS kind,
                   i // 2 AS pair
            FROM range({rows}) t(i) ORDER BY i {"DESC" if reverse else "ASC"})
           TO '{folder / "t.parquet"}'"""
    )
    path = write_contract(
        folder,
        "apiVersion: v3.0.2\nkind: DataContract\nid: s\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: local, type: parquet, path: .}]\n"
        "schema: [{name: t, properties: [{name: id, logicalType: integer, unique: true}, "
        "{name: kind, logicalType: string}, {name: pair, logicalType: integer}]}]\n",
    )
    return parse_contract(path.read_text()).schema[0]


def _profile_folder(folder: Path, obj: SchemaObject) -> Any:
    contract = parse_contract((folder / "c.odcs.yaml").read_text())
    source = open_source(contract, folder, obj.name, None)
    try:
        return profile_table(source, obj)
    finally:
        source.close()


def test_beyond_the_sample_counts_are_estimated_and_the_list_stays_complete(
    tmp_path: Path,
) -> None:
    rows = 60_000
    found = _profile_folder(tmp_path / "a", _skewed(tmp_path / "a", rows))
    assert found.queries == 1 and found.rows == rows and found.sampled == 1000
    kind = found.column("kind")
    assert kind.top_values_complete and kind.top_value_counts_estimated
    counts = {v["value"]: v["count"] for v in kind.top_values}
    # Every value, the five-row 'z' included: the sketch holds all values of a small column.
    assert set(counts) == {"a", "b", "c", "z"}
    truth = {"a": 0.6 * rows, "b": 0.3 * rows, "c": 0.1 * rows}
    for value, expected in truth.items():
        assert abs(counts[value] - expected) <= 0.15 * expected, (value, counts)
    assert counts["z"] >= 1
    assert [v["value"] for v in kind.top_values][:3] == ["a", "b", "c"]
    # 30,000 values twice each: nothing stands out of the sample, so no top values.
    pair = found.column("pair")
    assert pair.top_values is None and not pair.top_values_complete
    assert found.column("id").top_values is None  # declared unique
    assert found.as_dict()["columns"][1]["top_value_counts_estimated"] is True


def test_the_sample_does_not_depend_on_row_order(tmp_path: Path) -> None:
    forward = _profile_folder(tmp_path / "f", _skewed(tmp_path / "f", 30_000))
    backward = _profile_folder(tmp_path / "b", _skewed(tmp_path / "b", 30_000, reverse=True))
    assert forward.sample == backward.sample
    assert forward.column("kind").top_values == backward.column("kind").top_values


def test_odd_types_and_an_empty_table_profile_to_plain_json(tmp_path: Path) -> None:
    import json

    duckdb.connect().execute(
        f"""COPY (SELECT range AS id, 'x"y' AS "odd ""name", uuid() AS u, [range, 1] AS lst,
                   {{'a': range}} AS st, range % 2 = 0 AS flag, INTERVAL 1 DAY * range AS iv,
                   CASE WHEN range % 3 = 0 THEN 'nan'::DOUBLE ELSE 1.5 END AS fl,
                   CASE range WHEN 0 THEN '-inf'::DOUBLE WHEN 1 THEN 'inf'::DOUBLE
                              ELSE range END AS edge
            FROM range(30)) TO '{tmp_path / "t.parquet"}'"""
    )
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_parquet('{tmp_path / 't.parquet'}') WHERE false) "
        f"TO '{tmp_path / 'e.parquet'}'"
    )
    for table, rows in (("t", 30), ("e", 0)):
        contract = parse_contract(
            "apiVersion: v3.0.2\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\n"
            "servers: [{server: local, type: parquet, path: .}]\n"
            f"schema: [{{name: {table}, properties: [{{name: id, logicalType: integer}}]}}]\n"
        )
        source = open_source(contract, tmp_path, table, None)
        try:
            found = profile_table(source, contract.schema[0])
        finally:
            source.close()
        assert (found.rows, found.queries) == (rows, 1)
        # No custom encoder, and strict JSON: no NaN or Infinity literals.
        doc = json.loads(json.dumps(found.as_dict(), allow_nan=False))
        assert [c["name"] for c in doc["columns"]][:2] == ["id", 'odd "name']
        if rows:
            assert found.column('odd "name').top_values == [{"value": 'x"y', "count": 30}]
            assert found.column("lst").examples[0] in ([n, 1] for n in range(30))
            # Every NaN counts as one value (10 of the 30 rows).
            assert {"value": "nan", "count": 10} in (found.column("fl").top_values or [])
            assert found.column("flag").top_values_complete
            assert (found.column("edge").min, found.column("edge").max) == ("-inf", "inf")
        else:
            assert all(c["top_values"] is None for c in doc["columns"])
