"""slaProperties as ODCS names them, and what a contract declares that andon does not check."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import duckdb
import pytest

from andon.core.errors import Invalid
from andon.data import compile as engine
from andon.data.contracts import parse_contract
from andon.data.report import to_junit
from tests.cli.conftest import Run

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # 12:00 UTC is 04:00 at UTC-08:00


def _data(folder: Path) -> Path:
    """Events from 2024-06-01 to 2026-06-01 06:00 UTC (six hours before NOW)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = str(folder / "events.parquet").replace("'", "''")
    duckdb.sql(
        "COPY (SELECT range AS id, TIMESTAMP '2026-06-01 06:00:00' - to_days(CAST(range AS INTEGER))"
        f" AS at FROM range(731)) TO '{target}' (FORMAT parquet)"
    )
    return folder


def _contract(slas: list[dict[str, Any]], quality: str = "", extra: str = "") -> str:
    body = json.dumps(slas)
    return (
        "apiVersion: v3.1.0\nkind: DataContract\nid: events\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: local, type: local, path: ., format: parquet}]\n"
        "schema:\n  - name: events\n    properties:\n"
        "      - {name: id, logicalType: integer}\n"
        "      - {name: at, logicalType: timestamp}\n"
        f"{quality}{extra}slaProperties: {body}\n"
    )


def _results(tmp_path: Path, text: str) -> dict[str, Any]:
    scan = engine.run(parse_contract(text), _data(tmp_path), now=NOW)
    return {r.check: r for r in scan.results}


@pytest.mark.parametrize(
    ("sla", "status", "observed"),
    [
        ({"property": "latency", "value": 1, "unit": "d", "element": "events.at"}, "pass", 21600),
        ({"property": "latency", "value": 5, "unit": "h", "element": "events.at"}, "fail", 21600),
        ({"property": "ly", "value": 360, "unit": "min", "element": "at"}, "pass", 21600),
        (
            {"property": "frequency", "value": 1, "unit": "days", "element": "events.at"},
            "pass",
            21600,
        ),
        (
            {"property": "frequency", "value": 2, "unit": "hours", "element": "events.at"},
            "fail",
            21600,
        ),
        # The oldest event is 730 days and 6 hours old: within 3 years, beyond 1 year.
        (
            {"property": "retention", "value": 3, "unit": "y", "element": "events.at"},
            "pass",
            63093600,
        ),
        (
            {"property": "retention", "value": 1, "unit": "year", "element": "events.at"},
            "fail",
            63093600,
        ),
    ],
)
def test_each_duration_sla_is_a_check_on_its_element(
    tmp_path: Path, sla: dict[str, Any], status: str, observed: float
) -> None:
    results = _results(tmp_path, _contract([sla]))
    kind = {"ly": "latency"}.get(sla["property"], sla["property"])
    result = results[f"events.at.{kind}"]
    assert (result.kind, result.status, result.observed) == (kind, status, observed)
    assert result.threshold["mustBeLessOrEqualTo"] > 0 and result.message


def test_time_of_availability_is_judged_in_its_own_offset(tmp_path: Path) -> None:
    # At UTC-08:00 it is 04:00 on 2026-06-01 and the newest event (06:00 UTC) is of 05-31.
    before = {"property": "timeOfAvailability", "value": "09:00-08:00", "element": "events.at"}
    after = {"property": "timeOfAvailability", "value": "02:00-08:00", "element": "events.at"}
    utc = {"property": "timeOfAvailability", "value": "05:00Z", "element": "events.at"}
    results = _results(tmp_path, _contract([before]))
    due = results["events.at.timeOfAvailability"]
    assert due.status == "pass" and "not yet passed" in due.message  # 05-31's data is due
    assert due.threshold == {"timeOfAvailability": "09:00-08:00"}
    late = _results(tmp_path, _contract([after]))["events.at.timeOfAvailability"]
    assert late.status == "fail" and "data of 2026-06-01 is due" in late.message
    assert _results(tmp_path, _contract([utc]))["events.at.timeOfAvailability"].status == "pass"


def test_what_andon_cannot_check_is_reported_not_checked(tmp_path: Path) -> None:
    quality = (
        "    quality:\n"
        "      - {type: text, description: every event has a source, name: events.sourced}\n"
        "      - {type: custom, engine: soda, implementation: 'checks: []', name: events.soda}\n"
    )
    slas = [
        {"property": "availability", "value": "99.9%"},
        {"property": "latency", "value": 1, "unit": "d"},
    ]
    results = _results(tmp_path, _contract(slas, quality))
    unchecked = {n: r for n, r in results.items() if r.status == "not_checked"}
    assert set(unchecked) == {"events.sourced", "events.soda", "sla.availability", "sla.latency"}
    assert "no element names the timestamp column" in unchecked["sla.latency"].message
    assert "text rule" in unchecked["events.sourced"].message
    assert "engine 'soda'" in unchecked["events.soda"].message
    assert unchecked["sla.availability"].dataset is None
    assert "describes the service" in unchecked["sla.availability"].message
    doc = {
        "contract": "events",
        "dataset_version": {},
        "results": [r.as_dict() for r in unchecked.values()],
    }
    root = ET.fromstring(to_junit(doc))  # noqa: S314 - our own output
    assert sum(1 for _ in root.iter("skipped")) == 4


def test_bad_sla_values_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(Invalid) as info:
        parse_contract(_contract([
            {"property": "latency", "value": 1, "unit": "m", "element": "events.at"},
            {"property": "retention", "value": 1, "unit": "d", "element": "events.id"},
            {"property": "timeOfAvailability", "value": "25:00", "element": "events.at"},
        ]))  # fmt: skip
    assert info.value.details["errors"] == [
        "slaProperties[0].unit: 'm' is not a duration unit such as d, day, days, h, min, y "
        "(m could be minutes or months: write min or mo)",
        "slaProperties[1].element: events.id is integer, not a timestamp",
        "slaProperties[2].value: must be a time of day such as 09:00-08:00, not '25:00'",
    ]


def test_strict_fails_a_run_with_anything_not_checked(run: Run, tmp_path: Path) -> None:
    folder = _data(tmp_path / "data")
    contract = folder / "events.odcs.yaml"
    contract.write_text(
        _contract(
            [{"property": "errorRate", "value": 0.1}],
            "    quality:\n      - {type: text, description: sourced, name: events.sourced}\n",
        ),
        encoding="utf-8",
    )
    assert run("init").returncode == 0
    assert run("team", "create", "ops").returncode == 0
    assert run("contract", "apply", str(contract), "--team", "ops").returncode == 0
    relaxed = run("check", "run", "events", "--format", "json")
    assert relaxed.returncode == 0, relaxed.stderr
    doc = json.loads(relaxed.stdout)
    assert doc["passed"] is True and doc["not_checked"] == ["events.sourced", "sla.errorRate"]
    strict = run("check", "run", "events", "--strict")
    assert strict.returncode == 4
    assert "events.sourced (not_checked, --strict)" in strict.stderr
    assert "2 not checked" in strict.stdout
    stored = run("check", "run", "events", "--strict", "--format", "json")
    assert stored.returncode == 4
    assert (json.loads(stored.stdout)["passed"], json.loads(stored.stdout)["strict"]) == (
        False,
        True,
    )


def test_primary_keys_are_required_and_unique_composite_ones_as_a_whole(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    target = str(folder / "items.parquet").replace("'", "''")
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES (1, 'a'), (1, 'b'), (2, 'a'), (2, 'a'), (NULL, 'c')) "
        f"AS v(order_id, sku)) TO '{target}' (FORMAT parquet)"
    )
    text = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: items\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: local, type: local, path: ., format: parquet}]\n"
        "schema:\n  - name: items\n    properties:\n"
        "      - {name: order_id, logicalType: integer, primaryKey: true, primaryKeyPosition: 1}\n"
        "      - {name: sku, logicalType: string, primaryKey: true, primaryKeyPosition: 2}\n"
    )
    results = {r.check: r for r in engine.run(parse_contract(text), folder, now=NOW).results}
    assert results["items.order_id.required"].failed_rows == 1
    assert results["items.primaryKey"].failed_rows == 1  # (2, 'a') twice
    assert "items.order_id.unique" not in results  # order_id alone repeats, as a key part may
