"""The whole-process check benchmark's pure helpers: what it compares must be the same checks."""

from __future__ import annotations

from pathlib import Path

import yaml  # type: ignore[import-untyped]
from benchmarks.checks_whole import (
    andon_contract,
    duckdb_server,
    ratios_of_medians,
    rotated,
    soda_contract,
)

from andon.data.checks import plan
from andon.data.contracts import parse_contract


def test_ratios_are_of_medians_against_the_base() -> None:
    times = {"hand": [1.0, 3.0, 2.0], "andon": [2.0, 100.0, 4.0, 6.0]}
    assert ratios_of_medians(times, "hand") == {"hand": 1.0, "andon": 2.5}


def test_rounds_rotate_so_no_entry_always_goes_first() -> None:
    names = ["a", "b", "c"]
    firsts = {rotated(names, r)[0] for r in range(3)}
    assert firsts == set(names)
    assert all(sorted(rotated(names, r)) == names for r in range(5))


def test_the_andon_contract_is_18_checks_on_the_duckdb_file(tmp_path: Path) -> None:
    db = tmp_path / "orders.duckdb"
    doc = andon_contract(db)
    assert doc["servers"] == [duckdb_server(db)]
    contract = parse_contract(yaml.safe_dump(doc))
    assert len(plan(contract)) == 18


def test_soda_runs_the_same_18_checks() -> None:
    doc = soda_contract()
    per_column = sum(len(c["checks"]) for c in doc["columns"])
    assert len(doc["checks"]) + per_column == 18
    andon_columns = {p["name"] for p in andon_contract(Path("x.duckdb"))["schema"][0]["properties"]}
    assert {c["name"] for c in doc["columns"]} <= andon_columns
