"""Nothing left behind (issue 20, items 7 and 8): what a killed process, a disguised pickle, a
team owner or a listing used to leave behind, each kept as a test on the real CLI, services
and HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

import andon
from andon.auth import service as auth
from andon.core.context import Context
from tests.cli.conftest import Run
from tests.server import running_server


def _python(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``code`` in a fresh Python process with ``env`` (the CLI's environment)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --------------------------------------------------------------------------- run list json


def test_run_list_json_carries_the_datasets_and_artifacts_run_show_has(
    run: Run, andon_env: dict[str, str], tmp_path: Path
) -> None:
    assert run("init").returncode == 0
    assert run("team", "create", "ml").returncode == 0
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w" * 10)
    proc = _python(
        f"""
        import andon
        with andon.start_run("with-both", team="ml") as r:
            r.use_dataset("dsv_01LISTED")
            r.use_dataset("dsv_02LISTED")
            r.log_artifact({str(weights)!r})
            r.log_params({{"C": 1}})
            r.log_metrics({{"f1": 0.5}})
        with andon.start_run("plain", team="ml"):
            pass
        """,
        andon_env,
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    listed = json.loads(run("run", "list", "-f", "json").stdout)
    assert len(listed) == 2
    for entry in listed:
        shown = json.loads(run("run", "show", entry["id"], "-f", "json").stdout)
        assert entry == shown
    both = next(e for e in listed if e["name"] == "with-both")
    assert both["datasets"] == ["dsv_01LISTED", "dsv_02LISTED"]
    assert list(both["artifacts"]) == ["weights.bin"]
    filtered = json.loads(run("run", "list", "-w", "status = finished", "-f", "json").stdout)
    assert {e["name"]: e["datasets"] for e in filtered}["with-both"] == both["datasets"]


def test_the_rest_listing_of_runs_carries_datasets_and_artifacts(
    admin: Context, tmp_path: Path
) -> None:
    auth.create_team(admin, "ml")
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")
    with andon.start_run("with-both", team="ml", ctx=admin) as r:
        r.use_dataset("dsv_01REST")
        r.log_artifact(weights)
    _, secret = auth.create_token(admin, "admin")
    with running_server(admin) as base:
        headers = {"Authorization": f"Bearer {secret}"}
        page = httpx.get(f"{base}/api/v1/runs", headers=headers).json()
        one = httpx.get(f"{base}/api/v1/runs/{r.id}", headers=headers).json()
    (entry,) = page["items"]
    assert entry == one
    assert entry["datasets"] == ["dsv_01REST"] and list(entry["artifacts"]) == ["weights.bin"]
