"""The `andon` command end to end: real process, real SQLite, exit codes per DESIGN.md."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.conftest import Run


def _one_clear_line(proc: subprocess.CompletedProcess[str]) -> str:
    err = proc.stderr.strip()
    assert "Traceback" not in err and "Traceback" not in proc.stdout
    assert len(err.splitlines()) == 1, err
    return err


def test_init_seed_status_and_json_board(run: Run) -> None:
    first = run("init")
    assert first.returncode == 0, first.stderr
    assert "created administrator admin" in first.stdout
    again = run("init")
    assert again.returncode == 0 and "created administrator" not in again.stdout
    assert run("demo-seed").returncode == 0
    status = run("status", "--format", "json")
    assert status.returncode == 0, status.stderr
    board = json.loads(status.stdout)
    areas = {a["area"]: a["color"] for a in board["areas"]}
    assert areas["audit chain"] == "green"
    assert areas["teams & on-call"] == "green"
    # No data contracts yet is amber ("no contracts yet"), so the board is amber, not red.
    assert areas["data quality"] == "amber"
    assert board["board"] == "amber"
    table = run("status")
    assert "audit chain" in table.stdout and "green" in table.stdout


def test_teams_oncall_and_escalation(run: Run) -> None:
    run("init")
    assert run("principal", "create", "alice").returncode == 0
    assert run("principal", "create", "bruno").returncode == 0
    assert run("team", "create", "fraud-ml", "--owner", "alice").returncode == 0
    rot = run(
        "team",
        "rotation",
        "fraud-ml",
        "primary",
        "--members",
        "alice,bruno",
        "--timezone",
        "Europe/Paris",
        "--handoff",
        "09:00",
        "--starts-on",
        "2026-11-02",
    )
    assert rot.returncode == 0, rot.stderr
    week1 = run("team", "oncall", "fraud-ml", "--at", "2026-11-03T12:00Z", "--format", "json")
    week2 = run("team", "oncall", "fraud-ml", "--at", "2026-11-10T12:00Z", "--format", "json")
    assert json.loads(week1.stdout)["principal"] == "alice"
    assert json.loads(week2.stdout)["principal"] == "bruno"
    # 09:00 Paris is 08:00Z in winter.
    assert json.loads(week2.stdout)["shift_start"].startswith("2026-11-09T08:00:00")
    assert (
        run("team", "set-escalation", "fraud-ml", "model-owner", "--rotation", "primary").returncode
        == 0
    )
    ladder = run("team", "escalation", "fraud-ml", "--at", "2026-11-10T12:00Z", "--format", "json")
    assert json.loads(ladder.stdout) == [
        {"level": "model-owner", "principal": "bruno", "via": "rotation primary"}
    ]
    log = run("audit", "log", "--actor", "admin", "--format", "json")
    actions = [e["action"] for e in json.loads(log.stdout)]
    assert "team.rotation.set" in actions and "team.create" in actions


def test_token_is_printed_once_and_never_listed(run: Run) -> None:
    run("init")
    created = run("token", "create", "--name", "ci", "--format", "json")
    assert created.returncode == 0, created.stderr
    secret = json.loads(created.stdout)["token"]
    assert secret.startswith("andon_")
    listed = run("token", "list", "--format", "json")
    assert secret not in listed.stdout
    assert json.loads(listed.stdout)[0]["name"] == "ci"
    log = run("audit", "log", "--format", "json")
    assert secret not in log.stdout


def test_invalid_setting_is_exit_2_with_one_line(run: Run) -> None:
    proc = run("status", env={"ANDON_PORT": "eighty"})
    assert proc.returncode == 2
    assert "ANDON_PORT" in _one_clear_line(proc)


def test_before_init_says_what_to_run(run: Run) -> None:
    proc = run("team", "list")
    assert proc.returncode == 1
    assert "andon init" in _one_clear_line(proc)


def test_unknown_team_is_one_line(run: Run) -> None:
    run("init")
    proc = run("team", "show", "nope")
    assert proc.returncode == 1
    assert "no team named 'nope'" in _one_clear_line(proc)


def test_forbidden_is_exit_3_and_writes_nothing(run: Run) -> None:
    run("init")
    run("principal", "create", "vera")
    run("role", "bind", "vera", "viewer")
    before = json.loads(run("audit", "log", "--format", "json").stdout)
    proc = run("team", "create", "x", env={"ANDON_PRINCIPAL": "vera"})
    assert proc.returncode == 3
    assert "lacks permission 'team.create'" in _one_clear_line(proc)
    assert json.loads(run("audit", "log", "--format", "json").stdout) == before


def test_unknown_principal_is_exit_3(run: Run) -> None:
    run("init")
    proc = run("status", env={"ANDON_PRINCIPAL": "ghost"})
    assert proc.returncode == 3
    assert "ANDON_PRINCIPAL" in _one_clear_line(proc)


def test_bad_values_are_exit_2(run: Run) -> None:
    run("init")
    run("team", "create", "t1")
    bad_time = run("team", "oncall", "t1", "--at", "yesterday")
    assert bad_time.returncode == 2 and "--at" in _one_clear_line(bad_time)
    bad_tz = run(
        "team",
        "rotation",
        "t1",
        "r",
        "--members",
        "admin",
        "--timezone",
        "Mars/Base",
        "--starts-on",
        "2026-01-01",
    )
    assert bad_tz.returncode == 2 and "timezone" in _one_clear_line(bad_tz)
    bad_role = run("role", "bind", "admin", "emperor")
    assert bad_role.returncode == 2 and "emperor" in _one_clear_line(bad_role)
    usage = run("team", "create")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_unreachable_database_is_one_line_without_password(run: Run) -> None:
    from tests.server import free_port

    url = f"postgresql+psycopg://andon:hunter2@127.0.0.1:{free_port()}/andon"
    proc = run("status", env={"ANDON_DATABASE_URL": url})
    assert proc.returncode == 1
    line = _one_clear_line(proc)
    assert "cannot reach the database" in line and "hunter2" not in line


def test_newer_schema_is_refused(run: Run, andon_env: dict[str, str]) -> None:
    import sqlite3
    from pathlib import Path

    run("init")
    with sqlite3.connect(Path(andon_env["ANDON_HOME"]) / "andon.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999_from_the_future'")
    for args in (("db", "upgrade"), ("status",)):
        proc = run(*args)
        assert proc.returncode == 1
        assert "newer andon" in _one_clear_line(proc)
    current = run("db", "current")
    assert current.returncode == 1


def test_db_current_reports_revisions(run: Run) -> None:
    empty = run("db", "current", "--format", "json")
    assert json.loads(empty.stdout)["current"] is None
    assert run("db", "upgrade").returncode == 0
    info = json.loads(run("db", "current", "--format", "json").stdout)
    assert info["up_to_date"] is True and info["current"] == info["head"]


def test_debug_shows_the_traceback(run: Run) -> None:
    proc = run("--debug", "team", "list")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from andon.cli.main import app; "
        "heavy = ('sqlalchemy', 'fastapi', 'uvicorn', 'alembic', 'pandas', "
        "'sklearn', 'onnxruntime', 'numpy', 'ibis', 'duckdb', 'pyarrow'); "
        "print(sorted(m for m in heavy "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
