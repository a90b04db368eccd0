"""The sample line trains, logs, registers and crowns a champion; then the CLI shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from andon import demo
from andon.core.context import Context
from andon.data import reader
from andon.evaluate.suite import read_suite
from andon.lineage import service as lineage
from andon.registry import sample, service
from tests.cli.conftest import Run


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sample_line(admin: Context, tmp_path: Path) -> None:
    demo.seed(admin)
    result = sample.train(admin, team="fraud-ml", workdir=tmp_path)
    assert set(result.runs) == {"baseline", "challenger-a", "challenger-b"}
    assert all(0 < f1 <= 1 for f1 in result.f1.values())
    # The fair challenger beats the baseline on F1 (the biased one does too: its problem is
    # bias, which `andon eval run` measures).
    assert result.f1["challenger-a"] > result.f1["baseline"]
    champion = service.get_version(admin, f"{sample.MODEL}@champion")
    assert result.champion == "baseline"
    assert champion.version == result.versions["baseline"]
    # Runs read a real data-domain dataset version, materialized in the artifact store.
    assert champion.format == "onnx" and champion.dataset_version_ids == [result.dataset_version]
    train = reader.get_version(admin, result.dataset_version)
    assert train.dataset == sample.TRAIN and train.artifact_digest is not None
    assert train.row_count == 3000 and sample.SENSITIVE in [c[0] for c in train.columns]
    holdout = reader.latest_version(admin, f"fraud-ml/{sample.HOLDOUT}")
    assert holdout.id == result.holdout_version and holdout.row_count == 1000
    run = service.get_run(admin, result.runs["challenger-a"])
    assert run.status == "finished" and {"f1", "precision", "recall"} <= set(run.metrics)
    assert {"challenger-a.onnx", "challenger-a.skops"} == set(run.artifacts)
    assert len(service.metric_history(admin, run.id, "f1")) == 3
    up = lineage.graph(admin, champion.id, direction="upstream")
    assert result.dataset_version in up.nodes
    # The suite written next to the data parses and names the holdout.
    assert result.suite is not None
    assert read_suite(result.suite).dataset == f"fraud-ml/{sample.HOLDOUT}"
    # The data is deterministic: same seed, same rows.
    first, second = sample.make_data(), sample.make_data()
    assert all((first[k] == second[k]).all() for k in first)


def test_cli_end_to_end(run: Run, tmp_path: Path) -> None:
    assert run("init").returncode == 0
    assert run("demo-seed").returncode == 0
    trained = run("model", "demo-train")
    assert trained.returncode == 0, trained.stderr
    shown = run("model", "show", "fraud-detector@champion", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    version = json.loads(shown.stdout)
    assert version["format"] == "onnx" and version["digest"].startswith("sha256:")
    runs = run("run", "list", "--where", "metrics.f1 > 0 and status = finished", "-f", "json")
    assert runs.returncode == 0 and len(json.loads(runs.stdout)) == 3
    shown_run = run("run", "show", json.loads(runs.stdout)[0]["id"])
    assert shown_run.returncode == 0 and "metrics.f1 = " in shown_run.stdout
    models = json.loads(run("model", "list", "-f", "json").stdout)
    assert models[0]["aliases"].keys() == {"champion", "challenger"}
    moved = run("model", "alias", "fraud-detector@1", "champion", "--reason", "rollback test")
    assert moved.returncode == 0 and "champion" in moved.stdout
    tree = run("lineage", "show", "fraud-detector@1", "--upstream")
    assert tree.returncode == 0 and "<- produced: run_" in tree.stdout
    dot = run("lineage", "show", "fraud-detector@1", "-f", "dot")
    assert dot.stdout.startswith("digraph lineage")
    out = tmp_path / "ol.jsonl"
    assert run("lineage", "export", "--openlineage", str(out)).returncode == 0
    kinds = [json.loads(line)["eventType"] for line in out.read_text().splitlines()]
    assert kinds == ["START", "COMPLETE"] * 3
    status = json.loads(run("status", "-f", "json").stdout)
    registry = next(a for a in status["areas"] if a["area"] == "model registry")
    assert registry["color"] == "green" and "1 with a champion" in registry["detail"]


def _one_line(proc: object) -> str:
    err = proc.stderr.strip()  # type: ignore[attr-defined]
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return str(err)


def test_cli_errors_are_one_clear_line(run: Run, tmp_path: Path) -> None:
    run("init")
    run("team", "create", "fraud-ml")
    bad = run("run", "list", "--where", "metrics.f1 >")
    assert bad.returncode == 2 and "--where" in _one_line(bad)
    missing = run("model", "show", "ghost@1")
    assert missing.returncode == 1 and "no model named 'ghost'" in _one_line(missing)
    pkl = tmp_path / "m.pkl"
    pkl.write_bytes(b"\x80\x04K\x01.")
    refused = run("model", "register", "m", "--artifact", str(pkl), "--team", "fraud-ml")
    assert refused.returncode == 2 and "--trust-pickle" in _one_line(refused)
    art = tmp_path / "m.bin"
    art.write_bytes(b"weights")
    ok = run("model", "register", "m", "--artifact", str(art), "--team", "fraud-ml")
    assert ok.returncode == 0, ok.stderr
    assert run("model", "show", "m@1").returncode == 0
    assert run("model", "list").returncode == 0
