"""The policy commands through the real `andon` console script: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from andon.core.config import Settings
from andon.core.ids import new_id
from andon.store.db import Database
from andon.store.tables import evaluate as e
from andon.store.tables import registry as r
from tests.cli.conftest import Run

GATE = "eval.f1 >= champion.f1 - 0.01 && eval.latency_p95_ms <= 120"


def _policy(folder: Path, gate: str) -> str:
    path = folder / f"policy-{abs(hash(gate))}.yaml"
    path.write_text(
        "team: fraud-ml\nstages:\n  production:\n"
        f"    gate: {gate}\n    approvals: [approver, risk-owner]\n    expires: 72h\n"
        "    rollback: {when: \"slo.p95_ms > 120 || drift.status == 'red'\", for: 10m}\n"
    )
    return str(path)


def _evaluate(home: str, model: str, version: int, f1: float) -> None:
    """Store an evaluation (the harness's table; see tests/policy/conftest.py)."""
    from sqlalchemy import select

    db = Database.from_settings(Settings(home=Path(home)))
    with db.transaction() as session:
        version_id = session.scalar(
            select(r.ModelVersion.id)
            .join(r.Model, r.Model.id == r.ModelVersion.model_id)
            .where(r.Model.name == model, r.ModelVersion.version == version)
        )
        session.add(
            e.Evaluation(
                id=new_id("evaluation"),
                model_version_id=version_id,
                champion_version_id=None,
                dataset_version_id="dv_cli",
                suite_name="cli",
                suite={},
                metrics={"f1": f1, "latency_p95_ms": 30.0},
                champion_metrics=None,
                deltas={},
                created_by="test",
                created_at=session.scalar(select(r.ModelVersion.created_at).limit(1)),
            )
        )
    db.dispose()


def test_policy_gate_approval_promote_cord_rollback(
    run: Run, tmp_path: Path, andon_env: dict[str, str]
) -> None:
    alice, gita, hugo = ({"ANDON_PRINCIPAL": n} for n in ("alice", "gita", "hugo"))
    assert run("init").returncode == 0
    assert run("demo-seed").returncode == 0
    artifact = tmp_path / "weights.txt"
    artifact.write_text("w")
    registered = run(
        "model", "register", "fraud", "--team", "fraud-ml", "--artifact", str(artifact), env=alice
    )
    assert registered.returncode == 0, registered.stderr

    bad = run("policy", "apply", _policy(tmp_path, "eval.f11 >= 0.8"))
    assert bad.returncode == 2
    assert "stages.production.gate: column 6: unknown fact 'eval.f11'" in bad.stderr
    applied = run("policy", "apply", _policy(tmp_path, GATE))
    assert applied.returncode == 0 and "policy v1 of team fraud-ml applied" in applied.stdout

    failed = run("gate", "check", "fraud@1", "--stage", "production", env=alice)
    assert failed.returncode == 4
    assert "FAIL" in failed.stdout and "eval.f1 has no value" in failed.stdout
    assert failed.stderr.count("\n") == 1 and "gate production failed" in failed.stderr
    _evaluate(andon_env["ANDON_HOME"], "fraud", 1, 0.86)
    junit = run("gate", "check", "fraud@1", "--format", "junit", env=alice)
    assert junit.returncode == 0 and 'failures="0"' in junit.stdout

    req = json.loads(run("approval", "request", "fraud@1", "-f", "json", env=alice).stdout)
    assert req["missing_roles"] == ["approver", "risk-owner"]
    self_approve = run(
        "approval", "approve", req["id"], "--as", "approver", "--reason", "x", env=alice
    )
    assert self_approve.returncode == 3
    assert (
        run(
            "approval", "approve", req["id"], "--as", "approver", "--reason", "ok", env=gita
        ).returncode
        == 0
    )
    refused = run("model", "promote", "fraud@1", "--stage", "production", env=alice)
    assert refused.returncode == 4
    assert "approvals missing: risk-owner" in refused.stderr
    assert refused.stderr.count("\n") == 1
    approved = run(
        "approval", "approve", req["id"], "--as", "risk-owner", "--reason", "ok", env=hugo
    )
    assert approved.returncode == 0 and "approved" in approved.stdout

    pulled = run("cord", "pull", "fraud", "--reason", "drift alarm", env=alice)
    assert pulled.returncode == 0
    stopped = run("model", "promote", "fraud@1", "--stage", "production", env=alice)
    assert stopped.returncode == 1 and "andon cord" in stopped.stderr
    assert run("cord", "release", "fraud", "--reason", "explained", env=hugo).returncode == 0

    promoted = run("model", "promote", "fraud@1", "--stage", "production", env=alice)
    assert promoted.returncode == 0 and "champion nothing -> fraud@1" in promoted.stdout
    nothing = run("model", "rollback", "fraud", "--stage", "production", "--reason", "x", env=alice)
    assert nothing.returncode == 1 and "nothing to roll back to" in nothing.stderr


def test_cord_scopes_on_the_command_line(run: Run, andon_env: dict[str, str]) -> None:
    assert run("init").returncode == 0
    assert run("demo-seed").returncode == 0
    both = run("cord", "pull", "fraud", "--team", "fraud-ml", "--reason", "x")
    assert both.returncode == 2
    assert both.stderr.strip() == (
        "error: scope: name one of: a model, --endpoint NAME, --team NAME or --all"
    )
    pulled = run("cord", "pull", "--team", "fraud-ml", "--reason", "feature store down")
    assert pulled.returncode == 0, pulled.stderr
    assert "andon cord pulled for team fraud-ml: feature store down" in pulled.stdout
    every = run("cord", "pull", "--all", "--reason", "incident 9")
    assert every.returncode == 0 and "for the whole line: incident 9" in every.stdout
    asked = run("cord", "release", "--all", "--reason", "mitigated")
    assert asked.returncode == 0 and "release of the whole line requested by admin" in asked.stdout
    status = json.loads(run("cord", "status", "--format", "json").stdout)
    assert [(c["scope"], c["target"], c["pulled"]) for c in status] == [
        ("all", "*", True),
        ("team", "fraud-ml", True),
    ]
    assert status[0]["release_requested_by"] == "admin"
    missing = run("cord", "pull", "--endpoint", "nope", "--reason", "x")
    assert missing.returncode == 1 and "no endpoint 'nope'" in missing.stderr
