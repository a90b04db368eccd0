"""The DuckDB check path without Ibis gives exactly what the Ibis path gives.

:mod:`andon.data.duckdb_sql` writes the statements Ibis would compile for DuckDB; these tests
run the same contract both ways (``via_ibis``) on the sample data, the ODCS corpus and
generated tables, and compare every result (status, observed value, failed rows, samples,
messages), the dataset versions and the query count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.data import compile as engine
from andon.data.contracts import parse_contract, read_contract_file
from andon.data.sample import SampleSet
from tests.data.conftest import CHECKED_AT
from tests.data.test_odcs_corpus import DUCKDB_ONLY, FIXED_NOW, _generated


def _both(contract: Any, folder: Path, now: datetime) -> tuple[engine.Scan, engine.Scan]:
    return (
        engine.run(contract, folder, now=now),
        engine.run(contract, folder, now=now, via_ibis=True),
    )


def _same(direct: engine.Scan, ibis: engine.Scan) -> None:
    assert [r.as_dict() for r in direct.results] == [r.as_dict() for r in ibis.results]
    assert {n: (t.columns, t.version_id) for n, t in direct.tables.items()} == {
        n: (t.columns, t.version_id) for n, t in ibis.tables.items()
    }
    assert direct.queries == ibis.queries


def test_the_sample_contract_gives_the_same_results_both_ways(sample_set: SampleSet) -> None:
    contract = parse_contract(read_contract_file(sample_set.contract))
    direct, ibis = _both(contract, sample_set.folder, CHECKED_AT)
    assert any(r.samples for r in direct.results)  # failing checks with samples, masked
    _same(direct, ibis)


@pytest.mark.parametrize("name", DUCKDB_ONLY)
def test_the_odcs_corpus_gives_the_same_results_both_ways(name: str, tmp_path: Path) -> None:
    path = _generated(name, tmp_path)
    _same(*_both(parse_contract(path.read_text(), source=name), tmp_path, FIXED_NOW))


def test_a_check_run_on_duckdb_does_not_import_ibis(sample_set: SampleSet) -> None:
    code = (
        "import sys, json; from datetime import datetime, UTC; from pathlib import Path\n"
        "from andon.data import compile as engine\n"
        "from andon.data.contracts import parse_contract, read_contract_file\n"
        f"c = parse_contract(read_contract_file(Path({str(sample_set.contract)!r})))\n"
        f"s = engine.run(c, Path({str(sample_set.folder)!r}), now=datetime.now(UTC))\n"
        "print(json.dumps([s.queries, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ibis', 'pandas', 'sqlglot', 'pyarrow'))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    queries, heavy = json.loads(out.stdout)
    assert queries == 6 and heavy == []


def test_a_column_type_only_ibis_writes_falls_back_to_ibis(tmp_path: Path) -> None:
    duckdb.connect().execute(
        "COPY (SELECT range AS id, [range, 1] AS xs, CASE WHEN range % 3 = 0 THEN NULL "
        f"ELSE 'a' END AS s FROM range(30)) TO '{tmp_path / 't.parquet'}'"
    )
    contract = parse_contract(
        "apiVersion: v3.0.2\nkind: DataContract\nid: t\nversion: '1'\nstatus: active\n"
        "servers: [{server: local, type: parquet, path: .}]\n"
        "schema: [{name: t, properties: [{name: id, logicalType: integer, unique: true}, "
        "{name: xs, logicalType: array}, {name: s, logicalType: string, required: true}]}]\n"
    )
    direct, ibis = _both(contract, tmp_path, CHECKED_AT)
    assert [r.status for r in direct.results if r.kind == "nullValues"] == ["fail"]
    _same(direct, ibis)


# --------------------------------------------------------------------------- generated

WORDS = ["a", "b", "c", "", "x'y", "ORD-1"]
COLUMNS = {  # name: (logicalType, DuckDB type, values)
    "n": ("integer", "BIGINT", st.integers(-5, 120)),
    "q": ("integer", "INTEGER", st.integers(0, 3)),
    "f": ("number", "DOUBLE", st.floats(-10, 5000, allow_nan=False)),
    "d": ("number", "DECIMAL(10,2)", st.integers(-100, 300_000)),  # cents
    "s": ("string", "VARCHAR", st.sampled_from(WORDS)),
    "b": ("boolean", "BOOLEAN", st.booleans()),
    "ts": ("timestamp", "TIMESTAMP", st.integers(0, 10 * 86_400)),  # seconds before now
}


def _rule(column: str, draw: Any) -> dict[str, Any] | None:
    logical = COLUMNS[column][0]
    choices: list[dict[str, Any]] = [{"metric": "nullValues"}, {"metric": "duplicateValues"}]
    if logical == "string":
        choices += [
            {"metric": "missingValues", "arguments": {"missingValues": [None, "", "x'y"]}},
            {"metric": "invalidValues", "arguments": {"validValues": ["a", "b"]}},
            {"metric": "invalidValues", "arguments": {"pattern": "^[a-c]$"}},
        ]
    if logical in ("integer", "number"):
        choices += [
            {"metric": "outOfRange", "arguments": {"minimum": 0, "maximum": 100}},
            {"metric": "outOfRange", "arguments": {"minimum": 1.5}},
            {"metric": "invalidValues", "arguments": {"validValues": [1, 2, 3]}},
            {"metric": "invalidValues", "arguments": {"pattern": "^[0-9]+$"}},
            {"metric": "unitMismatch", "arguments": {"unit": "USD", "maximum": 1000}},
        ]
    rule = dict(draw(st.sampled_from(choices)))
    if draw(st.booleans()):
        rule |= {"unit": "percent", "mustBeLessThan": draw(st.sampled_from([1, 50]))}
    return rule


@st.composite
def tables(draw: Any) -> tuple[list[str], list[tuple[Any, ...]], dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=5, unique=True))
    rows = draw(
        st.lists(st.tuples(*(st.none() | COLUMNS[n][2] for n in names)), min_size=0, max_size=40)
    )
    props = []
    for n in names:
        prop: dict[str, Any] = {"name": n, "logicalType": COLUMNS[n][0]}
        if draw(st.booleans()):
            prop["quality"] = [_rule(n, draw)]
        if draw(st.booleans()):
            prop["classification"] = "pii"
        if draw(st.integers(0, 4)) == 0:
            prop["required"] = True
        props.append(prop)
    obj: dict[str, Any] = {"name": "t", "properties": props}
    if len(names) > 1 and draw(st.booleans()):
        obj["quality"] = [
            {"metric": "duplicateValues", "arguments": {"properties": names[:2]}},
            {"metric": "rowCount", "mustBeGreaterThan": 3},
        ]
    doc = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "gen", "version": "1.0.0",
        "status": "active",
        "servers": [{"server": "local", "type": "local", "path": ".", "format": "parquet"}],
        "schema": [obj],
    }  # fmt: skip
    if "ts" in names and draw(st.booleans()):
        doc["slaProperties"] = [
            {"property": "latency", "value": 2, "unit": "d", "element": "t.ts"},
            {"property": "retention", "value": 5, "unit": "d", "element": "t.ts"},
        ]
    return names, rows, doc


def _write(folder: Path, names: list[str], rows: list[tuple[Any, ...]]) -> None:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({', '.join(f'{n} {COLUMNS[n][1]}' for n in names)})")
    for row in rows:
        values = []
        for n, v in zip(names, row, strict=True):
            if v is not None and n == "ts":
                v = (FIXED_NOW - timedelta(seconds=v)).replace(tzinfo=None)
            elif v is not None and n == "d":
                v = v / 100
            values.append(v)
        con.execute(f"INSERT INTO t VALUES ({', '.join('?' for _ in names)})", values)
    con.execute(f"COPY t TO '{folder / 't.parquet'}' (FORMAT parquet)")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables())
def test_generated_tables_and_checks_give_the_same_results_both_ways(
    table: tuple[list[str], list[tuple[Any, ...]], dict[str, Any]], tmp_path_factory: Any
) -> None:
    names, rows, doc = table
    folder = tmp_path_factory.mktemp("gen")
    _write(folder, names, rows)
    contract = parse_contract(yaml.safe_dump(doc, sort_keys=False), source="gen")
    _same(*_both(contract, folder, FIXED_NOW.astimezone(UTC)))
