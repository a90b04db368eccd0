"""Run leases: a running run's heartbeat, and the end of runs whose process died.

A run is ``running`` while its process says so: :func:`andon.start_run` beats (see
:func:`heartbeat`) every quarter of ``run_lease_seconds`` (``ANDON_RUN_LEASE_SECONDS``,
default 60), and every log counts as a beat too. A run without a beat for longer than the
lease was left by a process that is gone (killed, crashed, its machine lost), so
:func:`reap_expired` ends it ``killed``, ``ended_at`` the time it was found, the error naming
its last heartbeat.

Who ends it: the platform (the audit entry's actor is ``system``, reason "lease expired"),
not the person whose ``run list`` or ``run show`` happened to notice. Reaping is a
consequence of time, not anyone's decision, and a reader holds no ``run.create``. The check
runs before every run listing and run read and when a run starts; it costs one indexed read
of the running runs, and a write transaction only when one has expired. The end is a
compare-and-swap on the heartbeat read, so a run that beats meanwhile is left running.

Heartbeats are bookkeeping, not state changes: permission-checked (``run.create``, as logging
is) but not audited, or a long run would flood the audit log.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.clock import as_utc
from andon.core.context import SYSTEM, Context
from andon.core.errors import NotFound
from andon.store.tables import registry as r


def beat_interval(lease_seconds: float) -> float:
    """How often a running run beats: four times per lease, so one slow beat is no death."""
    return lease_seconds / 4


def heartbeat(ctx: Context, run_id: str) -> bool:
    """Record that the run's process is alive; False once the run is no longer running."""
    with ctx.db.transaction() as session:
        run = session.get(r.Run, run_id)
        if run is None:
            raise NotFound(f"no run '{run_id}'", field="run")
        ctx.require("run.create", team_id=run.team_id)
        beat = session.execute(
            update(r.Run)
            .where(r.Run.id == run_id, r.Run.status == "running")
            .values(heartbeat_at=ctx.clock.now())
        )
        return cast("CursorResult[Any]", beat).rowcount == 1


def reap_expired(ctx: Context) -> list[str]:
    """End ``killed`` every running run whose lease expired; returns their ids.

    Acts as the platform whoever calls it (see the module docstring).
    """
    now = ctx.clock.now()
    lease = timedelta(seconds=ctx.settings.run_lease_seconds)
    with ctx.db.read() as session:
        running = session.execute(
            select(r.Run.id, r.Run.heartbeat_at, r.Run.started_at).where(r.Run.status == "running")
        ).all()
    expired = [
        (rid, beat) for rid, beat, started in running if as_utc(beat or started) + lease < now
    ]
    if not expired:
        return []
    system = replace(ctx, principal=SYSTEM, grants=())
    ended: list[str] = []
    with ctx.db.transaction() as session:
        for run_id, beat in expired:
            if _end_expired(session, system, run_id, beat, now, lease):
                ended.append(run_id)
    return ended


def _end_expired(
    session: Session,
    system: Context,
    run_id: str,
    beat: datetime | None,
    now: datetime,
    lease: timedelta,
) -> bool:
    row = session.get(r.Run, run_id)
    assert row is not None  # runs are never deleted
    last = as_utc(beat or row.started_at)
    error = (
        f"killed: no heartbeat since {last.isoformat()} "
        f"(lease {lease.total_seconds():g} s); its process is gone"
    )
    same_beat = r.Run.heartbeat_at.is_(None) if beat is None else r.Run.heartbeat_at == beat
    done = session.execute(
        update(r.Run)
        .where(r.Run.id == run_id, r.Run.status == "running", same_beat)
        .values(status="killed", error=error, ended_at=now)
    )
    if cast("CursorResult[Any]", done).rowcount != 1:  # it beat or ended meanwhile
        return False
    record_change(
        session,
        system,
        action="run.end",
        object_id=run_id,
        change={"status": "killed", "error": error, "last_heartbeat": last.isoformat()},
        reason="lease expired",
        event="run.ended",
    )
    return True
