"""`andon eval run|show|list` through the real console script: JSON, tables, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from andon.registry import sample
from tests.cli.conftest import Run
from tests.evaluate.conftest import Files, suite_text


def _one_line(proc: object) -> str:
    err = str(proc.stderr).strip()  # type: ignore[attr-defined]
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_eval_cli(run: Run, files: Files, tmp_path: Path) -> None:
    for args in (
        ("init",),
        ("team", "create", "fraud-ml"),
        ("contract", "apply", str(files.contract), "--team", "fraud-ml"),
        ("data", "snapshot", f"fraud-ml/{sample.HOLDOUT}", "--materialize"),
        (
            "model",
            "register",
            "fraud",
            "--artifact",
            str(files.models["champion"]),
            "--team",
            "fraud-ml",
        ),
        (
            "model",
            "register",
            "fraud",
            "--artifact",
            str(files.models["challenger"]),
            "--team",
            "fraud-ml",
        ),
        ("model", "alias", "fraud@1", "champion"),
    ):
        done = run(*args)
        assert done.returncode == 0, (args, done.stderr)
    suite = tmp_path / "suite.yaml"
    suite.write_text(suite_text(), encoding="utf-8")

    ran = run("eval", "run", "fraud@2", "--suite", str(suite), "--format", "json")
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert report["version"] == 2 and report["champion"]["version"] == 1
    assert report["suite"]["dataset"] == f"fraud-ml/{sample.HOLDOUT}"
    assert report["deltas"]["f1"] == round(
        report["metrics"]["f1"] - report["champion"]["metrics"]["f1"], 6
    )
    assert {"bias", "slices", "latency_p95_ms", "cost_per_1k"} <= set(report["metrics"])

    shown = run("eval", "show", report["id"])
    assert shown.returncode == 0, shown.stderr
    assert "vs champion @1" in shown.stdout and "bias.demographic_parity_diff" in shown.stdout
    assert "age_band=18-29" in shown.stdout

    # Errors: one red line each, with the exit code DESIGN.md gives its kind.
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfeatures: [a, a]\n", encoding="utf-8")
    invalid = run("eval", "run", "fraud@2", "--suite", str(bad))
    assert invalid.returncode == 2 and "not a valid evaluation suite (3 problems)" in invalid.stderr
    missing_col = tmp_path / "missing.yaml"
    missing_col.write_text(suite_text(features="[amount, zip_code]"), encoding="utf-8")
    no_column = run("eval", "run", "fraud@2", "--suite", str(missing_col))
    assert no_column.returncode == 2 and "'zip_code'" in _one_line(no_column)
    unknown = run("eval", "run", "ghost@1", "--suite", str(suite))
    assert unknown.returncode == 1 and "no model named 'ghost'" in _one_line(unknown)
    # Nothing was stored by the failed runs.
    assert len(json.loads(run("eval", "list", "fraud@2", "-f", "json").stdout)) == 1
