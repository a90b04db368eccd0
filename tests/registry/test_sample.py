"""The sample line trains, logs, registers and crowns a champion; then the CLI shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from andon import demo
from andon.core.context import Context
from andon.lineage import service as lineage
from andon.registry import sample, service
from tests.cli.conftest import Run


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sample_line(admin: Context, tmp_path: Path) -> None:
    demo.seed(admin)
    result = sample.train(admin, team="fraud-ml", workdir=tmp_path)
    assert set(result.runs) == {"baseline", "challenger"}
    assert all(0 < f1 <= 1 for f1 in result.f1.values())
    champion = service.get_version(admin, f"{sample.MODEL}@champion")
    assert champion.version == result.versions[result.champion]
    assert champion.format == "onnx" and champion.dataset_version_ids == [result.dataset_version]
    run = service.get_run(admin, result.runs["challenger"])
    assert run.status == "finished" and {"f1", "precision", "recall"} <= set(run.metrics)
    assert {"challenger.onnx", "challenger.skops"} == set(run.artifacts)
    assert len(service.metric_history(admin, run.id, "f1")) == 3
    up = lineage.graph(admin, champion.id, direction="upstream")
    assert result.dataset_version in up.nodes
    # The data is deterministic: same seed, same fingerprint.
    X, y = sample.make_data()
    assert sample.fingerprint(X, y) == result.dataset_version


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
    assert runs.returncode == 0 and len(json.loads(runs.stdout)) == 2
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
    assert kinds == ["START", "COMPLETE", "START", "COMPLETE"]
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
