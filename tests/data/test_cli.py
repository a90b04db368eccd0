"""`andon contract|check|data` as a user runs them: real process, exit codes per DESIGN.md."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from andon.data.sample import generate
from tests.cli.conftest import Run


def test_validate_reports_every_problem_and_exits_2(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.odcs.yaml"
    bad.write_text(
        "apiVersion: v3.0.2\nkind: DataContract\nid: x\nversion: '1'\nstatus: draft\n"
        "servers: [{server: s, type: parquet, path: .}]\nschema:\n"
        "  - name: t\n    properties:\n      - {name: a, logicalType: string}\n"
        "      - {name: b, logicalType: string}\n      - {name: c, logicalType: integer}\n"
        "      - {name: d, logicalType: strng}\n      - {name: e, logicalType: nope}\n"
    )
    proc = run("contract", "validate", str(bad))
    assert proc.returncode == 2
    assert (
        "schema[0].properties[3].logicalType: 'strng' is not one of string, integer, number, "
        "boolean, date, timestamp, time, object, array, map, vector" in proc.stderr
    )
    assert "schema[0].properties[4].logicalType: 'nope'" in proc.stderr
    as_json = run("contract", "validate", str(bad), "--format", "json")
    assert as_json.returncode == 2 and len(json.loads(as_json.stdout)["errors"]) == 2
    missing = run("contract", "validate", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1 and missing.stderr.strip().startswith("error: no contract file")


def test_demo_flow_apply_check_snapshot(run: Run, tmp_path: Path) -> None:
    # The CLI checks freshness against the wall clock, so the sample is generated now (the
    # session's sample_set is pinned to a fixed date for the service tests' frozen clock).
    folder = generate(tmp_path / "sample", rows=2000, seed=7).folder
    contract = str(folder / "orders.odcs.yaml")
    assert run("init").returncode == 0
    assert run("team", "create", "fraud-ml").returncode == 0
    assert run("contract", "validate", contract).returncode == 0
    applied = run("contract", "apply", contract, "--team", "fraud-ml")
    assert applied.returncode == 0, applied.stderr
    checked = run("check", "run", contract, "--format", "json")
    assert checked.returncode == 4, checked.stderr
    assert checked.stderr.strip().startswith("error: 9 error-severity checks failed")
    doc = json.loads(checked.stdout)
    assert doc["passed"] is False and doc["contract"] == "sample-orders"
    junit = run("check", "run", "sample-orders", "--format", "junit")
    assert junit.returncode == 4
    root = ET.fromstring(junit.stdout)  # noqa: S314 - our own output
    assert sum(1 for _ in root.iter("failure")) == 9
    table = run("check", "run", "sample-orders")
    assert table.returncode == 4 and "orders.status.valid" in table.stdout
    history = run("check", "history", "orders", "--format", "json")
    assert [h["dataset_version"] for h in json.loads(history.stdout)] == [
        doc["dataset_version"]["orders"]
    ] * 3
    snap = run("data", "snapshot", "orders", "--materialize", "--format", "json")
    assert snap.returncode == 0, snap.stderr
    version = json.loads(snap.stdout)
    assert version["id"] == doc["dataset_version"]["orders"]
    assert version["artifact"].startswith("sha256:")
    diff = run("data", "diff", version["id"], version["id"])
    assert "same schema and data" in diff.stdout
    status = json.loads(run("status", "--format", "json").stdout)
    assert {a["area"]: a["color"] for a in status["areas"]}["data quality"] == "red"


def test_sample_command_and_bad_input(run: Run, tmp_path: Path) -> None:
    made = run("data", "sample", "--rows", "1000", "--out", str(tmp_path / "s"), "-f", "json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["rows"]["orders"] == 1000
    too_few = run("data", "sample", "--rows", "10", "--out", str(tmp_path / "s"))
    assert too_few.returncode == 2 and "--rows" in too_few.stderr
    run("init")
    unknown = run("check", "run", "nope")
    assert unknown.returncode == 1 and len(unknown.stderr.strip().splitlines()) == 1
