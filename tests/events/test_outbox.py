"""The outbox: events written with their change, read by cursor, delivered at least once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Forbidden, Invalid
from andon.events import service as events
from andon.store.outbox import Event
from tests.conftest import as_principal


def _make_changes(admin: Context, n: int) -> None:
    for i in range(n):
        auth.create_principal(admin, f"user-{i}")


def test_state_changes_write_typed_events_in_order(admin: Context) -> None:
    auth.create_team(admin, "fraud-ml")
    auth.create_principal(admin, "alice")
    listed = events.list_events(admin)
    types = [e.type for e in listed]
    assert types == ["principal.created", "team.created", "principal.created"]
    assert [e.seq for e in listed] == sorted(e.seq for e in listed)
    assert listed[-1].payload["name"] == "alice" and listed[-1].payload["actor"] == "admin"
    only_teams = events.list_events(admin, type_="team.created")
    assert [e.payload["name"] for e in only_teams] == ["fraud-ml"]
    assert events.list_events(admin, after=listed[0].seq) == listed[1:]


def test_a_consumer_that_crashes_mid_batch_resumes_without_loss_or_double_apply(
    admin: Context,
) -> None:
    _make_changes(admin, 10)
    total = len(events.list_events(admin, limit=1000))
    delivered: list[str] = []
    applied: dict[str, Event] = {}

    def idempotent(event: Event) -> None:
        delivered.append(event.id)
        applied.setdefault(event.id, event)

    crash_at = 5

    def crashing(event: Event) -> None:
        idempotent(event)
        if len(delivered) == crash_at:
            raise RuntimeError("consumer crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        events.drain(admin, "projector", crashing, batch_size=3)
    # Batch 1 (3 events) was acknowledged; batch 2 crashed on its second event.
    assert events.cursor(admin, "projector") == events.list_events(admin)[2].seq

    handled = events.drain(admin, "projector", idempotent, batch_size=3)
    assert handled == total - 3
    all_ids = [e.id for e in events.list_events(admin, limit=1000)]
    assert sorted(applied) == sorted(all_ids)  # nothing lost
    assert len(applied) == total  # nothing applied twice
    redelivered = [i for i in set(delivered) if delivered.count(i) > 1]
    assert len(redelivered) == 2  # at-least-once: the unacknowledged events came again
    assert events.drain(admin, "projector", idempotent) == 0


def test_consumers_have_independent_cursors_that_never_move_back(admin: Context) -> None:
    _make_changes(admin, 4)
    batch = events.read_batch(admin, "a", limit=2)
    assert events.ack(admin, "a", batch[-1].seq) == batch[-1].seq
    assert events.ack(admin, "a", 1) == batch[-1].seq
    assert events.cursor(admin, "b") == 0
    assert events.read_batch(admin, "b", limit=1)[0].seq == 1
    with pytest.raises(Invalid, match="consumer"):
        events.read_batch(admin, "Bad Name")
    with pytest.raises(Invalid, match="between 1 and 1000"):
        events.read_batch(admin, "a", limit=0)


def test_reading_events_needs_permission(admin: Context) -> None:
    auth.create_principal(admin, "nobody")
    nobody = as_principal(admin, "nobody")
    with pytest.raises(Forbidden, match=r"events\.read"):
        events.list_events(nobody)
    with pytest.raises(Forbidden):
        events.ack(nobody, "x", 1)


CONSUMER = textwrap.dedent(
    """
    import os, sqlite3, sys
    from andon.auth import service as auth
    from andon.core.config import Settings
    from andon.events import service as events
    from andon.store.db import Database

    url, effects, crash_after = sys.argv[1], sys.argv[2], int(sys.argv[3])
    settings = Settings(database_url=url)
    ctx = auth.context_for(Database(url), settings, "admin")
    sink = sqlite3.connect(effects, isolation_level=None)
    sink.execute("CREATE TABLE IF NOT EXISTS applied (event_id TEXT PRIMARY KEY, n INTEGER)")
    seen = 0

    def handle(event):
        global seen
        sink.execute("INSERT OR IGNORE INTO applied VALUES (?, 1)", (event.id,))
        sink.execute("CREATE TABLE IF NOT EXISTS deliveries (event_id TEXT)")
        sink.execute("INSERT INTO deliveries VALUES (?)", (event.id,))
        seen += 1
        if seen == crash_after:
            os._exit(17)  # a hard crash: no cleanup, no ack

    events.drain(ctx, "effects", handle, batch_size=4)
    """
)


def test_a_killed_consumer_process_resumes(admin: Context, tmp_path: Path) -> None:
    _make_changes(admin, 9)
    total = len(events.list_events(admin, limit=1000))
    script = tmp_path / "consumer.py"
    script.write_text(CONSUMER)
    effects = tmp_path / "effects.db"
    url = admin.db.url  # type: ignore[attr-defined]
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root / "src"), "PATH": "/usr/bin:/bin"}
    first = subprocess.run(
        [sys.executable, str(script), url, str(effects), "6"], env=env, timeout=120, check=False
    )
    assert first.returncode == 17
    second = subprocess.run(
        [sys.executable, str(script), url, str(effects), "0"], env=env, timeout=120, check=False
    )
    assert second.returncode == 0
    with sqlite3.connect(effects) as sink:
        applied = sink.execute("SELECT count(*) FROM applied").fetchone()[0]
        deliveries = sink.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    assert applied == total
    assert deliveries == total + 2  # events 5 and 6 of the crashed batch came again
