"""Tracked runs through the Python API and the service, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

import andon
from andon.audit import service as audit
from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound
from andon.registry import service
from andon.registry.runs import env_hash, git_commit, start_run
from andon.store.tables import registry as r
from tests.conftest import as_principal


def test_a_run_logs_params_stepped_metrics_artifacts_and_datasets(
    admin: Context, team: str, tmp_path: Path
) -> None:
    artifact = tmp_path / "weights.bin"
    artifact.write_bytes(b"w")
    with andon.start_run("baseline", team=team, ctx=admin) as run:
        run.log_params({"C": 1.0, "solver": "lbfgs"})
        run.log_metrics({"loss": 0.9})
        run.log_metrics({"loss": 0.5, "f1": 0.7})
        run.log_metrics({"f1": 0.85}, step=10)
        digest = run.log_artifact(artifact)
        run.use_dataset("dsv_01TEST")
        run.use_dataset("dsv_01TEST")  # idempotent
    record = service.get_run(admin, run.id)
    assert record.status == "finished" and record.error == "" and record.ended_at
    assert record.params == {"C": "1.0", "solver": "lbfgs"}
    assert record.metrics == {"f1": 0.85, "loss": 0.5}
    assert service.metric_history(admin, run.id, "loss") == [(0, 0.9), (1, 0.5)]
    assert service.metric_history(admin, run.id, "f1") == [(0, 0.7), (10, 0.85)]
    assert record.artifacts == {"weights.bin": digest} and digest.startswith("sha256:")
    assert record.datasets == ["dsv_01TEST"]
    assert record.env_hash == env_hash() and len(record.env_hash or "") == 64
    assert record.git_commit == git_commit()
    actions = [e.action for e in audit.list_entries(admin)]
    assert actions.count("run.create") == 1 and actions.count("run.end") == 1


def test_a_run_that_raises_ends_failed_with_the_error_type(admin: Context, team: str) -> None:
    started: list[str] = []

    def train() -> None:
        with start_run("boom", team=team, ctx=admin) as run:
            started.append(run.id)
            run.log_params({"a": 1})
            _ = 1 / 0

    with pytest.raises(ZeroDivisionError):
        train()
    record = service.get_run(admin, started[0])
    assert record.status == "failed" and record.error == "ZeroDivisionError"
    assert record.params == {"a": "1"}
    with pytest.raises(Conflict, match="failed"):
        service.log_to_run(admin, record.id, metrics={"f1": 1.0})
    with pytest.raises(Conflict, match="already ended"):
        service.end_run(admin, record.id)


def test_a_killed_run_ends_killed(admin: Context, team: str) -> None:
    with pytest.raises(KeyboardInterrupt), start_run("ctrl-c", team=team, ctx=admin) as run:
        raise KeyboardInterrupt
    assert service.get_run(admin, run.id).status == "killed"


def test_bad_input_changes_nothing(admin: Context, team: str) -> None:
    run = service.create_run(admin, "r", team)
    with pytest.raises(Invalid, match="number"):
        service.log_to_run(admin, run.id, params={"a": 1}, metrics={"f1": "high"})
    with pytest.raises(Invalid, match="finite"):
        service.log_to_run(admin, run.id, metrics={"f1": float("nan")})
    with pytest.raises(Invalid):
        service.log_to_run(admin, run.id, params={"bad key!": 1})
    assert service.get_run(admin, run.id).params == {}
    service.log_to_run(admin, run.id, params={"a": 1}, metrics={"f1": 0.5}, step=3)
    with pytest.raises(Conflict, match="logged once"):
        service.log_to_run(admin, run.id, params={"a": 2})
    with pytest.raises(Conflict, match="step 3"):
        service.log_to_run(admin, run.id, metrics={"f1": 0.6}, step=3)
    with pytest.raises(NotFound):
        service.get_run(admin, "run_nope")
    with pytest.raises(NotFound, match="no team"):
        service.create_run(admin, "r", "nope")
    with pytest.raises(Invalid):
        service.end_run(admin, run.id, "exploded")


def _runs(admin: Context, team: str) -> None:
    for name, f1, c, status in [
        ("a", 0.9, "1.0", "finished"),
        ("b", 0.7, "0.1", "finished"),
        ("c", 0.85, "1.0", "failed"),
    ]:
        run = service.create_run(admin, name, team)
        service.log_to_run(admin, run.id, params={"C": c}, metrics={"f1": f1, "loss": 1 - f1})
        service.end_run(admin, run.id, status)
    service.create_run(admin, "d", team)  # running, no metrics


@pytest.mark.parametrize(
    ("where", "names"),
    [
        ("metrics.f1 > 0.8", ["a", "c"]),
        ("metrics.f1 > 0.8 and status = finished", ["a"]),
        ("metrics.f1 >= 0.7 and metrics.loss < 0.2", ["a", "c"]),
        ("params.C = '1.0'", ["a", "c"]),
        ("params.C != 1.0", ["b"]),
        ("status = running", ["d"]),
        ("name = b", ["b"]),
        ("metrics.f1 != 0.9", ["b", "c"]),
        ("metrics.missing > 0", []),
    ],
)
def test_runs_are_searchable(admin: Context, team: str, where: str, names: list[str]) -> None:
    _runs(admin, team)
    found = service.list_runs(admin, where=where)
    assert sorted(run.name for run in found) == names


def test_listing_is_scoped_to_readable_teams(admin: Context, team: str) -> None:
    auth.create_team(admin, "other")
    service.create_run(admin, "mine", team)
    service.create_run(admin, "theirs", "other")
    auth.create_principal(admin, "vic")
    auth.bind_role(admin, "vic", "viewer", scope="team", target=team)
    vic = as_principal(admin, "vic")
    assert [run.name for run in service.list_runs(vic)] == ["mine"]
    with pytest.raises(Forbidden):
        service.create_run(vic, "nope", team)
    with pytest.raises(Invalid, match=r"^where: "):
        service.list_runs(vic, where="metrics.f1 >> 1")


def test_no_run_is_half_written_when_the_database_refuses(admin: Context, team: str) -> None:
    run = service.create_run(admin, "r", team)
    with pytest.raises(Invalid):
        service.log_to_run(admin, run.id, params={"ok": 1, "long": "x" * 501})
    with admin.db.read() as session:
        assert session.scalar(select(func.count()).select_from(r.RunParam)) == 0


def test_start_run_without_a_context_acts_as_the_local_principal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from andon.core.config import load_settings
    from andon.store import migrate
    from andon.store.db import Database

    settings = load_settings()  # ANDON_HOME is the test's temp folder
    db = Database.from_settings(settings)
    migrate.upgrade(db)
    auth.bootstrap(db, settings, "admin")
    auth.create_team(auth.context_for(db, settings, "admin"), "fraud-ml")
    monkeypatch.setenv("ANDON_PRINCIPAL", "admin")
    with andon.start_run("local", team="fraud-ml") as run:
        run.log_metrics({"f1": 0.9})
    assert run.record().status == "finished"
    assert run.record().created_by == "admin"
    monkeypatch.setenv("ANDON_PRINCIPAL", "ghost")
    with pytest.raises(andon.AndonError), andon.start_run("nope", team="fraud-ml"):
        pass
    db.dispose()
