"""`andon audit verify` and `andon audit log` as a user runs them: a real process per command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from andon.audit import service as audit
from andon.auth import service as auth
from andon.core.clock import FrozenClock
from andon.core.config import Settings
from andon.core.context import Context
from tests.audit.chains import execute, grow

ANDON = Path(sys.executable).with_name("andon")


def andon(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ANDON_DATABASE_URL": settings.resolved_database_url,
        "ANDON_HOME": str(settings.home),
        "ANDON_PRINCIPAL": "admin",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [str(ANDON), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_verify_exits_0_when_intact_and_4_naming_the_first_bad_entry(
    admin: Context, clock: FrozenClock, settings: Settings
) -> None:
    n = grow(admin, clock, 5)
    ok = andon(settings, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    assert f"{n} entries" in ok.stdout

    execute(admin.db, "UPDATE audit_log SET reason = 'forged' WHERE seq = 3")
    execute(admin.db, "DELETE FROM audit_log WHERE seq = 5")
    bad = andon(settings, "audit", "verify", "--format", "json")
    assert bad.returncode == 4, bad.stderr
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    assert report["first_bad_seq"] == 3
    assert report["checked"] == 2

    text = andon(settings, "audit", "verify")
    assert text.returncode == 4
    assert "broken at entry 3" in text.stdout
    assert "do not match its hash" in text.stdout


def test_log_filters_by_object_and_actor(
    admin: Context, clock: FrozenClock, settings: Settings
) -> None:
    alice = auth.create_principal(admin, "alice", reason="new analyst")
    auth.create_principal(admin, "bob")
    clock.advance(seconds=1)
    auth.disable_principal(admin, "alice", reason="left the company")

    by_object = andon(settings, "audit", "log", "--object", alice.id, "--format", "json")
    assert by_object.returncode == 0, by_object.stderr
    entries = json.loads(by_object.stdout)
    assert [e["action"] for e in entries] == ["principal.disable", "principal.create"]
    assert [e["reason"] for e in entries] == ["left the company", "new analyst"]
    assert {e["object_id"] for e in entries} == {alice.id}
    assert entries[0]["seq"] > entries[1]["seq"]

    by_actor = andon(settings, "audit", "log", "--actor", "system", "--format", "json")
    assert by_actor.returncode == 0, by_actor.stderr
    system = json.loads(by_actor.stdout)
    assert len(system) >= 1
    assert {e["actor"] for e in system} == {"system"}

    assert len(audit.list_entries(admin, actor="admin")) == 3
    assert len(audit.list_entries(admin)) == 3 + len(system)
