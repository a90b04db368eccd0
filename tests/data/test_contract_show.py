"""`andon contract show`: an applied contract's document, always as valid ODCS."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from andon.data.sample import contract_document, generate
from andon.data.standard import standard_errors
from tests.cli.conftest import Run
from tests.data.conftest import LEGACY_SAMPLE


def _applied(run: Run, folder: Path, contract: Path) -> None:
    assert run("init").returncode == 0
    assert run("team", "create", "fraud-ml").returncode == 0
    applied = run("contract", "apply", str(contract), "--team", "fraud-ml")
    assert applied.returncode == 0, applied.stderr


def test_show_writes_the_applied_document_the_standard_accepts(run: Run, tmp_path: Path) -> None:
    sample = generate(tmp_path / "sample", rows=1000)
    _applied(run, sample.folder, sample.contract)
    shown = run("contract", "show", "sample-orders")
    assert shown.returncode == 0, shown.stderr
    document = yaml.safe_load(shown.stdout)
    assert document == contract_document()
    assert standard_errors(document) == []
    as_json = json.loads(run("contract", "show", "sample-orders@1.0.0", "-f", "json").stdout)
    assert (as_json["version"], as_json["status"], as_json["team"]) == (
        "1.0.0",
        "active",
        "fraud-ml",
    )
    assert as_json["upgraded"] == [] and as_json["document"] == document


def test_a_contract_applied_in_the_old_dialect_is_shown_upgraded(run: Run, tmp_path: Path) -> None:
    sample = generate(tmp_path / "sample", rows=1000)
    legacy = sample.folder / "legacy.odcs.yaml"
    legacy.write_text(LEGACY_SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert run("init").returncode == 0
    assert run("team", "create", "fraud-ml").returncode == 0
    applied = run("contract", "apply", str(legacy), "--team", "fraud-ml")
    assert applied.returncode == 0, applied.stderr
    warnings = [line for line in applied.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "pre-standard contract dialect (11 changes" in warnings[0]
    assert "andon contract upgrade FILE --in-place" in warnings[0]
    shown = run("contract", "show", "sample-orders")
    assert shown.returncode == 0, shown.stderr
    assert standard_errors(yaml.safe_load(shown.stdout)) == []
    assert (
        "upgraded from andon's pre-standard dialect: servers[0].type: parquet -> local"
        in shown.stderr
    )


def test_show_names_what_is_missing(run: Run, tmp_path: Path) -> None:
    assert run("init").returncode == 0
    missing = run("contract", "show", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: contract: no applied contract 'nope'"
