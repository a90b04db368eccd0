"""Dataset version fingerprints: order-independent, sensitive to any changed row."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.data import compile as engine
from andon.data.contracts import parse_contract

CONTRACT = parse_contract(
    "apiVersion: v3.0.2\nkind: DataContract\nid: v\nversion: '1'\nstatus: active\n"
    "servers: [{server: local, type: parquet, path: .}]\n"
    "schema: [{name: v, properties: [{name: n, logicalType: integer}, "
    "{name: s, logicalType: string}]}]\n"
)

rows = st.lists(
    st.tuples(st.integers(-(2**40), 2**40) | st.none(), st.text(max_size=5) | st.none()),
    min_size=1,
    max_size=30,
)


def _version(data: list[tuple[int | None, str | None]]) -> engine.TableScan:
    with tempfile.TemporaryDirectory() as folder:
        table = pa.table(
            {"n": pa.array([r[0] for r in data], pa.int64()), "s": [r[1] for r in data]}
        )
        pq.write_table(table, Path(folder) / "v.parquet")
        return engine.fingerprint_only(CONTRACT, Path(folder), "v", None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows, st.randoms(use_true_random=False))
def test_row_order_does_not_change_the_version(
    data: list[tuple[int | None, str | None]], rnd: object
) -> None:
    shuffled = list(data)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = _version(data), _version(shuffled)
    assert a.version_id == b.version_id and a.fingerprints == b.fingerprints


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows, st.integers(-(2**40), 2**40))
def test_a_changed_row_changes_the_version_and_only_its_column(
    data: list[tuple[int | None, str | None]], value: int
) -> None:
    changed = list(data)
    old = changed[0][0]
    if old == value:
        value += 1
    changed[0] = (value, changed[0][1])
    a, b = _version(data), _version(changed)
    assert a.version_id != b.version_id
    assert a.fingerprints["n"] != b.fingerprints["n"]
    assert a.fingerprints["s"] == b.fingerprints["s"]


def test_an_added_duplicate_row_changes_the_version(tmp_path: Path) -> None:
    data: list[tuple[int | None, str | None]] = [(1, "a"), (2, "b")]
    assert _version(data).version_id != _version([*data, (2, "b")]).version_id
    assert _version(data).row_count == 2


def test_schema_changes_change_the_schema_hash(tmp_path: Path) -> None:
    duckdb.execute(f"COPY (SELECT 1::BIGINT AS n, 'a' AS s) TO '{tmp_path / 'v.parquet'}'")
    a = engine.fingerprint_only(CONTRACT, tmp_path, "v", None)
    duckdb.execute(f"COPY (SELECT 1::INTEGER AS n, 'a' AS s) TO '{tmp_path / 'v.parquet'}'")
    b = engine.fingerprint_only(CONTRACT, tmp_path, "v", None)
    assert a.schema_hash != b.schema_hash and a.version_id != b.version_id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(-50, 50) | st.none(), min_size=1, max_size=40),
    st.integers(-60, 60),
    st.integers(0, 40),
    st.lists(st.integers(-50, 50), min_size=1, max_size=5),
)
def test_compiled_counts_match_a_direct_count(
    values: list[int | None], low: int, width: int, valid: list[int]
) -> None:
    """The one-aggregate compiler agrees with counting in Python, whatever the data."""
    high = low + width
    doc = (
        "apiVersion: v3.0.2\nkind: DataContract\nid: p\nversion: '1'\nstatus: active\n"
        "servers: [{server: local, type: parquet, path: .}]\n"
        "schema: [{name: p, properties: [{name: n, logicalType: integer, quality: ["
        "{name: nulls, metric: nullValues}, "
        f"{{name: range, metric: outOfRange, arguments: {{minimum: {low}, maximum: {high}}}}}, "
        f"{{name: valid, metric: invalidValues, arguments: {{validValues: {valid}}}}}, "
        "{name: dupes, metric: duplicateValues}, "
        f"{{name: share, metric: nullValues, unit: percent, mustBeLessThan: 50}}]}}]}}]\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        pq.write_table(pa.table({"n": pa.array(values, pa.int64())}), Path(folder) / "p.parquet")
        scan = engine.run(parse_contract(doc), Path(folder), now=datetime.now(UTC))
    got = {r.check: r for r in scan.results}
    present = [v for v in values if v is not None]
    nulls = len(values) - len(present)
    assert got["nulls"].failed_rows == nulls
    assert got["range"].failed_rows == sum(1 for v in present if not low <= v <= high)
    assert got["valid"].failed_rows == sum(1 for v in present if v not in valid)
    assert got["dupes"].failed_rows == len(present) - len(set(present))
    assert got["share"].observed == pytest.approx(100 * nulls / len(values))
    assert (got["share"].status == "pass") == (100 * nulls / len(values) < 50)
    for name in ("nulls", "range", "valid", "dupes"):
        assert (got[name].status == "fail") == bool(got[name].failed_rows)
    for name in ("nulls", "range", "valid"):
        assert len(got[name].samples) == min(10, got[name].failed_rows or 0)
    # Duplicate samples show every copy of a repeated key (up to 10 rows).
    dupes = [row["n"] for row in got["dupes"].samples]
    assert bool(dupes) == bool(got["dupes"].failed_rows) and len(dupes) <= 10
    assert all(present.count(v) > 1 for v in dupes)
