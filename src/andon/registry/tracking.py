"""Tracked runs: start, log to, end, read and list them (the service operations).

A run belongs to a team: starting one, logging to it and ending it need ``run.create`` on the
team, reading needs ``run.read``. Starting and ending are audited with an outbox event; what is
logged (params, metrics, artifacts, dataset versions) is data, kept in the run's own tables.
The Python SDK over these (``andon.start_run``) is :mod:`andon.registry.runs`; a run whose
heartbeat lease expired is ended ``killed`` by :mod:`andon.registry.leases`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.auth.queries import team_by_name
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid
from andon.core.ids import new_id
from andon.lineage.service import link
from andon.registry import filters, leases
from andon.registry.driver_sql import driver_sql, utc_value
from andon.registry.queries import run_by_id
from andon.registry.records import RunRecord
from andon.store.artifacts import ArtifactStore
from andon.store.tables import auth as t
from andon.store.tables import registry as r

if TYPE_CHECKING:
    from sqlalchemy import CursorResult, Select

_RUN_NAME = re.compile(r"^[\w][\w .:/@-]{0,199}$")
_KEY = re.compile(r"^[\w.:/-]{1,200}$")
_TERMINAL = ("finished", "failed", "killed")


def _marks(n: int) -> str:
    return ", ".join(["?"] * n)


_RUN_COLUMNS = (
    r.Run.id,
    r.Run.name,
    t.Team.name,
    r.Run.status,
    r.Run.error,
    r.Run.git_commit,
    r.Run.env_hash,
    r.Run.created_by,
    r.Run.started_at,
    r.Run.ended_at,
)


def _run_select() -> Select[Any]:  # type: ignore[type-arg,unused-ignore]
    return select(*_RUN_COLUMNS).join(t.Team, t.Team.id == r.Run.team_id)  # type: ignore[return-value]


# The newest runs (of some teams), as :func:`_run_select` without a ``--where`` filter.
_RUNS_PAGE = (
    "SELECT r.id, r.name, t.name, r.status, r.error, r.git_commit, r.env_hash, r.created_by, "
    "r.started_at, r.ended_at FROM runs r JOIN teams t ON t.id = r.team_id{where} "
    "ORDER BY r.started_at DESC, r.id DESC LIMIT ?"
)
# Params, latest metrics, artifacts and datasets of a page of runs, in one statement; the
# first column says which table a row comes from.
_CONTENTS_OF = (
    "SELECT 'p', run_id, key, value, NULL FROM run_params WHERE run_id IN ({marks}) "
    "UNION ALL SELECT 'm', run_id, key, NULL, value FROM run_metrics WHERE run_id IN ({marks}) "
    "UNION ALL SELECT 'a', run_id, name, digest, NULL FROM run_artifacts "
    "WHERE run_id IN ({marks}) "
    "UNION ALL SELECT 'd', run_id, dataset_version_id, NULL, NULL FROM run_datasets "
    "WHERE run_id IN ({marks})"
)


def _run_records(session: Session, rows: Sequence[Any]) -> list[RunRecord]:
    """Records for rows of :func:`_run_select` (or ``_RUNS_PAGE``), with params, latest
    metrics, artifacts and datasets: one set-based query per 250 runs, never one per run."""
    conn = session.connection()
    ids = [row[0] for row in rows]
    params: dict[str, dict[str, str]] = {i: {} for i in ids}
    metrics: dict[str, dict[str, float]] = {i: {} for i in ids}
    arts: dict[str, dict[str, str]] = {i: {} for i in ids}
    datasets: dict[str, list[str]] = {i: [] for i in ids}
    for chunk in (ids[i : i + 250] for i in range(0, len(ids), 250)):
        sql = driver_sql(conn, _CONTENTS_OF.format(marks=_marks(len(chunk))))
        for kind, rid, key, text, number in conn.exec_driver_sql(sql, tuple(chunk) * 4).all():
            if kind == "p":
                params[rid][key] = text
            elif kind == "m":
                metrics[rid][key] = number
            elif kind == "a":
                arts[rid][key] = f"sha256:{text}"
            else:
                datasets[rid].append(key)
    return [
        RunRecord(
            id=rid,
            name=name,
            team=team,
            status=status,
            error=error,
            git_commit=commit,
            env_hash=env,
            created_by=by,
            started_at=utc_value(started),
            ended_at=utc_value(ended) if ended else None,
            params=params[rid],
            metrics=metrics[rid],
            artifacts=dict(sorted(arts[rid].items())),
            datasets=sorted(datasets[rid]),
        )
        for rid, name, team, status, error, commit, env, by, started, ended in rows
    ]


def run_record(session: Session, run_id: str) -> RunRecord:
    """The run ``run_id`` as a record (flushes the session first)."""
    session.flush()
    rows = session.connection().execute(_run_select().where(r.Run.id == run_id)).all()
    return _run_records(session, rows)[0]


def _readable_team_ids(session: Session, ctx: Context, action: str) -> list[str] | None:
    """Teams whose objects ``ctx`` may read with ``action``; None means every team."""
    if ctx.can(action):  # a global grant: no filter to apply
        return None
    team_ids = session.scalars(select(t.Team.id)).all()
    return [tid for tid in team_ids if ctx.can(action, team_id=tid)]


def create_run(
    ctx: Context,
    name: str,
    team: str,
    *,
    git_commit: str | None = None,
    env_hash: str | None = None,
    reason: str = "",
) -> RunRecord:
    """Start a run of ``team`` in state ``running``."""
    if not _RUN_NAME.match(name):
        raise Invalid(
            f"'{name}' must be 1 to 200 letters, digits, spaces or . _ : / @ -", field="name"
        )
    leases.reap_expired(ctx)
    with ctx.db.transaction() as session:
        team_row = team_by_name(session, team)
        ctx.require("run.create", team_id=team_row.id)
        now = ctx.clock.now()
        row = r.Run(
            id=new_id("run"),
            name=name,
            team_id=team_row.id,
            status="running",
            error="",
            git_commit=git_commit,
            env_hash=env_hash,
            created_by=ctx.principal.name,
            started_at=now,
            heartbeat_at=now,
        )
        session.add(row)
        session.flush()
        record_change(
            session,
            ctx,
            action="run.create",
            object_id=row.id,
            change={"name": name, "team": team, "git_commit": git_commit, "env_hash": env_hash},
            reason=reason,
            event="run.started",
        )
        return run_record(session, row.id)


def log_to_run(
    ctx: Context,
    run_id: str,
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    step: int | None = None,
    artifact: Path | None = None,
    datasets: Iterable[str] = (),
) -> RunRecord:
    """Log parameters, metrics (at ``step``, default: one past the metric's last step), an
    artifact and dataset versions used, to a running run. Not audited: the run's start and
    end are; its contents are data, kept in its own tables."""
    clean_params = {_key(k, "params"): _param(v) for k, v in (params or {}).items()}
    clean_metrics = {_key(k, "metrics"): _metric(k, v) for k, v in (metrics or {}).items()}
    if step is not None and (not isinstance(step, int) or step < 0):
        raise Invalid("must be a non-negative integer", field="step")
    dataset_ids = [str(d) for d in datasets]
    for d in dataset_ids:
        if not d or len(d) > 80:
            raise Invalid("a dataset version id is 1 to 80 characters", field="dataset")
    stored = None
    if artifact is not None:  # copy the bytes before taking the write lock, after the check
        with ctx.db.read() as session:
            ctx.require("run.create", team_id=run_by_id(session, run_id).team_id)
        stored = ArtifactStore(ctx.settings.artifact_dir).put_file(artifact)
    with ctx.db.transaction() as session:
        run = run_by_id(session, run_id)
        ctx.require("run.create", team_id=run.team_id)
        if run.status != "running":
            raise Conflict(f"run {run_id} is {run.status}: log to a running run")
        now = ctx.clock.now()
        run.heartbeat_at = now  # a log is a sign of life too
        for key, text in clean_params.items():
            existing = session.get(r.RunParam, (run_id, key))
            if existing is None:
                session.add(r.RunParam(run_id=run_id, key=key, value=text))
            elif existing.value != text:
                raise Conflict(
                    f"param '{key}' is already '{existing.value}': params are logged once"
                )
        for key, value in clean_metrics.items():
            latest = session.get(r.RunMetric, (run_id, key))
            at = step if step is not None else (latest.step + 1 if latest else 0)
            if session.get(r.RunMetricStep, (run_id, key, at)) is not None:
                raise Conflict(f"metric '{key}' already has a value at step {at}")
            session.add(
                r.RunMetricStep(run_id=run_id, key=key, step=at, value=value, logged_at=now)
            )
            if latest is None:
                session.add(r.RunMetric(run_id=run_id, key=key, value=value, step=at))
            elif at >= latest.step:
                latest.value, latest.step = value, at
        if artifact is not None and stored is not None:
            name = Path(artifact).name
            existing_art = session.get(r.RunArtifact, (run_id, name))
            if existing_art is None:
                session.add(
                    r.RunArtifact(run_id=run_id, name=name, digest=stored.digest, size=stored.size)
                )
            elif existing_art.digest != stored.digest:
                raise Conflict(f"artifact '{name}' was already logged with other content")
        for dsv in dataset_ids:
            if session.get(r.RunDataset, (run_id, dsv)) is None:
                session.add(r.RunDataset(run_id=run_id, dataset_version_id=dsv))
            link(
                session,
                src_id=dsv,
                src_kind="dataset_version",
                dst_id=run_id,
                dst_kind="run",
                relation="input",
                at=now,
            )
        session.flush()
        return run_record(session, run.id)


def _key(key: object, what: str) -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise Invalid(f"'{key}' must be 1 to 200 letters, digits or . _ : / -", field=what)
    return key


def _param(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    if len(text) > 500:
        raise Invalid("a parameter value is at most 500 characters", field="params")
    return text


def _metric(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(value)  # type: ignore[arg-type]  # numpy scalars
        except (TypeError, ValueError):
            raise Invalid(f"metric '{key}' must be a number", field="metrics") from None
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise Invalid(f"metric '{key}' must be finite", field="metrics")
    return number


def end_run(
    ctx: Context, run_id: str, status: str = "finished", *, error: str = "", reason: str = ""
) -> RunRecord:
    """End a running run as ``finished``, ``failed`` or ``killed`` (with the error type)."""
    if status not in _TERMINAL:
        raise Invalid(f"'{status}' is not one of {', '.join(_TERMINAL)}", field="status")
    with ctx.db.transaction() as session:
        run = run_by_id(session, run_id)
        ctx.require("run.create", team_id=run.team_id)
        ended = session.execute(
            update(r.Run)
            .where(r.Run.id == run_id, r.Run.status == "running")
            .values(status=status, error=error[:1000], ended_at=ctx.clock.now())
        )
        if cast("CursorResult[Any]", ended).rowcount != 1:
            raise Conflict(f"run {run_id} already ended ({run.status})")
        session.refresh(run)
        record_change(
            session,
            ctx,
            action="run.end",
            object_id=run_id,
            change={"status": status, "error": error[:1000]},
            reason=reason,
            event="run.ended",
        )
        return run_record(session, run.id)


def get_run(ctx: Context, run_id: str) -> RunRecord:
    """One run with its params, latest metrics, artifacts and datasets (a run whose lease
    expired is ended ``killed`` first: :mod:`andon.registry.leases`)."""
    leases.reap_expired(ctx)
    with ctx.db.read() as session:
        run = run_by_id(session, run_id)
        ctx.require("run.read", team_id=run.team_id)
        return run_record(session, run.id)


def metric_history(ctx: Context, run_id: str, key: str) -> list[tuple[int, float]]:
    """Every ``(step, value)`` logged for one metric of a run, by step."""
    with ctx.db.read() as session:
        run = run_by_id(session, run_id)
        ctx.require("run.read", team_id=run.team_id)
        rows = session.execute(
            select(r.RunMetricStep.step, r.RunMetricStep.value)
            .where(r.RunMetricStep.run_id == run_id, r.RunMetricStep.key == key)
            .order_by(r.RunMetricStep.step)
        )
        return [(int(s), float(v)) for s, v in rows]


def list_runs(
    ctx: Context, *, where: str | None = None, team: str | None = None, limit: int = 100
) -> list[RunRecord]:
    """Runs the principal may read, newest first, filtered by the ``--where`` grammar (runs
    whose lease expired are ended ``killed`` first)."""
    if limit < 1 or limit > 10_000:
        raise Invalid("must be between 1 and 10000", field="limit")
    condition = filters.compile_where(where) if where else None
    leases.reap_expired(ctx)
    with ctx.db.read() as session:
        ctx.require_somewhere("run.read")
        team_ids = _readable_team_ids(session, ctx, "run.read")
        if team:
            team_id = team_by_name(session, team).id
            team_ids = [tid for tid in (team_ids or [team_id]) if tid == team_id]
        if team_ids == []:
            return []
        conn = session.connection()
        if condition is None:  # the plain listing: SQL written once, on the driver
            where = f" WHERE r.team_id IN ({_marks(len(team_ids))})" if team_ids else ""
            sql = driver_sql(conn, _RUNS_PAGE.format(where=where))
            rows = conn.exec_driver_sql(sql, (*(team_ids or ()), limit)).all()
            return _run_records(session, rows)
        stmt = _run_select()
        if team_ids is not None:
            stmt = stmt.where(r.Run.team_id.in_(team_ids))
        stmt = stmt.where(condition).order_by(r.Run.started_at.desc(), r.Run.id.desc()).limit(limit)
        return _run_records(session, conn.execute(stmt).all())
