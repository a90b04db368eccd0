"""Runs, models, versions and aliases: the only door for their state.

Each write checks the permission, changes state, writes lineage edges, appends the audit
entry and the outbox event in one transaction. Runs belong to a team (``run.create`` /
``run.read`` at team scope); models are assets of a team, so checks on an existing model
pass its asset id and asset-scoped role bindings apply.

Model references are ``[team/]name[@version|@alias]``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.audit.chain import record_change
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound
from andon.core.ids import new_id
from andon.lineage.edges import link
from andon.registry import filters, formats, leases
from andon.registry.aliases import alias_version, move_alias
from andon.registry.queries import (
    aliases_by_model,
    model_by_ref,
    team_names,
    version_by_ref,
    version_record,
)
from andon.registry.queries import (
    parse_ref as parse_ref,  # re-exported: evaluate reads it through this module
)
from andon.registry.records import AliasMove, ModelRecord, RunRecord, VersionRecord
from andon.store import registry_tables as r
from andon.store import tables as t
from andon.store.artifacts import ArtifactStore
from andon.store.lookups import stage_of_alias, team_by_name

if TYPE_CHECKING:
    from sqlalchemy import Connection, CursorResult, Select

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_RUN_NAME = re.compile(r"^[\w][\w .:/@-]{0,199}$")
_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")
_KEY = re.compile(r"^[\w.:/-]{1,200}$")
_TERMINAL = ("finished", "failed", "killed")


def _artifacts(ctx: Context) -> ArtifactStore:
    """The artifact store of the context's andon home."""
    return ArtifactStore(ctx.settings.artifact_dir)


# --------------------------------------------------------------------------- helpers


def _run(session: Session, run_id: str) -> r.Run:
    row = session.get(r.Run, run_id)
    if row is None:
        raise NotFound(f"no run '{run_id}'", field="run")
    return row


# Hot reads (listings, ``model show``) run SQL written once here on the session's connection
# (``exec_driver_sql``): SQLAlchemy Core costs about 35 µs a statement, as much as the query
# itself, and each read is one or two statements (benchmarks/registry.py). The SQL uses
# ``?`` marks; :func:`_driver_sql` turns them into the driver's. Columns come back as the
# driver returns them: :func:`_utc` and :func:`_json` read timestamps and JSON on both backends.


def _driver_sql(conn: Connection, sql: str) -> str:
    """``sql`` with its ``?`` marks in the driver's parameter style."""
    return sql if conn.dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def _utc(value: datetime | str) -> datetime:
    """A timestamp column as aware UTC: SQLite returns naive UTC text, PostgreSQL datetimes."""
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _json(value: Any) -> Any:
    """A JSON column: SQLite returns its text, PostgreSQL the parsed value."""
    return json.loads(value) if isinstance(value, str) else value


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
        sql = _driver_sql(conn, _CONTENTS_OF.format(marks=_marks(len(chunk))))
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
            started_at=_utc(started),
            ended_at=_utc(ended) if ended else None,
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


# --------------------------------------------------------------------------- runs


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
            ctx.require("run.create", team_id=_run(session, run_id).team_id)
        stored = _artifacts(ctx).put_file(artifact)
    with ctx.db.transaction() as session:
        run = _run(session, run_id)
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
        run = _run(session, run_id)
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
        run = _run(session, run_id)
        ctx.require("run.read", team_id=run.team_id)
        return run_record(session, run.id)


def metric_history(ctx: Context, run_id: str, key: str) -> list[tuple[int, float]]:
    """Every ``(step, value)`` logged for one metric of a run, by step."""
    with ctx.db.read() as session:
        run = _run(session, run_id)
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
            sql = _driver_sql(conn, _RUNS_PAGE.format(where=where))
            rows = conn.exec_driver_sql(sql, (*(team_ids or ()), limit)).all()
            return _run_records(session, rows)
        stmt = _run_select()
        if team_ids is not None:
            stmt = stmt.where(r.Run.team_id.in_(team_ids))
        stmt = stmt.where(condition).order_by(r.Run.started_at.desc(), r.Run.id.desc()).limit(limit)
        return _run_records(session, conn.execute(stmt).all())


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class _Inspected:
    format: str
    signature: dict[str, Any]
    trusted: bool
    digest: str = ""


def _inspect(path: Path, declared: str | None, trust_pickle: bool) -> _Inspected:
    """Format, signature and trust of the file, with the digest of the bytes inspected."""
    data = path.read_bytes()
    found = _inspect_bytes(path, data, declared, trust_pickle)
    return _Inspected(
        found.format, found.signature, found.trusted, hashlib.sha256(data).hexdigest()
    )


def _inspect_bytes(path: Path, data: bytes, declared: str | None, trust_pickle: bool) -> _Inspected:
    fmt = formats.detect(path, declared)
    if fmt == "pickle":
        if not trust_pickle:
            raise Invalid(
                f"{path.name} is a pickle/joblib file, which runs code when loaded: export it "
                "as ONNX or skops, or have a platform-admin register it with --trust-pickle",
                field="--artifact",
            )
        return _Inspected("pickle", {}, True)
    if fmt == "onnx":
        return _Inspected("onnx", formats.onnx_signature(data), False)
    if fmt == "skops":
        untrusted = formats.skops_untrusted(data)
        if untrusted and not trust_pickle:
            raise Invalid(
                f"{path.name} holds types skops does not trust ({', '.join(untrusted[:5])}): "
                "a platform-admin may register it with --trust-pickle",
                field="--artifact",
            )
        return _Inspected("skops", formats.skops_signature(data, untrusted), bool(untrusted))
    return _Inspected("file", {}, False)


def _get_or_create_model(
    session: Session, ctx: Context, team_row: t.Team, name: str
) -> tuple[r.Model, bool]:
    def find() -> r.Model | None:
        return session.scalar(
            select(r.Model).where(r.Model.team_id == team_row.id, r.Model.name == name)
        )

    model = find()
    if model is not None:
        return model, False
    now = ctx.clock.now()
    try:
        with session.begin_nested():
            asset = session.scalar(
                select(t.Asset).where(
                    t.Asset.team_id == team_row.id, t.Asset.kind == "model", t.Asset.name == name
                )
            )
            if asset is None:  # an asset registered by hand first is adopted
                asset = t.Asset(
                    id=new_id("asset"), kind="model", name=name, team_id=team_row.id, created_at=now
                )
                session.add(asset)
                session.flush()  # no relationship() orders the inserts: the asset first
            model = r.Model(
                id=new_id("model"),
                name=name,
                team_id=team_row.id,
                asset_id=asset.id,
                last_version=0,
                created_at=now,
            )
            session.add(model)
            session.flush()
        return model, True
    except IntegrityError:
        # Another transaction created it first (it has committed by now).
        model = find()
        if model is None:
            raise Conflict(f"model '{name}' is being created concurrently; retry") from None
        return model, False


def register_model(
    ctx: Context,
    name: str,
    *,
    team: str,
    artifact: Path,
    run: str | None = None,
    fmt: str | None = None,
    trust_pickle: bool = False,
    reason: str = "",
) -> VersionRecord:
    """Store ``artifact`` content-addressed and register it as the model's next version.

    The model (and its asset row) is created on first registration. ``trust_pickle`` is
    the platform-admin's ``model.trust_pickle`` (it stands in for ``model.register``).
    """
    if not _NAME.match(name):
        raise Invalid(
            f"'{name}' must start with a-z or 0-9 and use only a-z 0-9 . _ -", field="name"
        )
    action = "model.trust_pickle" if trust_pickle else "model.register"
    path = Path(artifact)
    if not path.is_file():
        raise NotFound(f"no file at {path}", field="--artifact")

    def check(session: Session) -> tuple[t.Team, r.Model | None]:
        team_row = team_by_name(session, team)
        model = session.scalar(
            select(r.Model).where(r.Model.team_id == team_row.id, r.Model.name == name)
        )
        ctx.require(action, team_id=team_row.id, asset_id=model.asset_id if model else None)
        return team_row, model

    with ctx.db.read() as session:  # refuse early, before any bytes are copied
        check(session)
    inspected = _inspect(path, fmt, trust_pickle)
    stored = _artifacts(ctx).put_file(path)
    if stored.digest != inspected.digest:
        raise Conflict(f"{path.name} changed while it was being registered; try again")
    with ctx.db.transaction() as session:
        team_row, _ = check(session)
        datasets: list[str] = []
        if run is not None:
            run_row = _run(session, run)
            if run_row.team_id != team_row.id:
                raise Invalid(f"run {run} belongs to another team", field="--run")
            datasets = sorted(
                session.scalars(
                    select(r.RunDataset.dataset_version_id).where(r.RunDataset.run_id == run)
                )
            )
        model, created = _get_or_create_model(session, ctx, team_row, name)
        session.execute(
            update(r.Model)
            .where(r.Model.id == model.id)
            .values(last_version=r.Model.last_version + 1)
        )
        session.refresh(model)
        now = ctx.clock.now()
        row = r.ModelVersion(
            id=new_id("model_version"),
            model_id=model.id,
            version=model.last_version,
            digest=stored.digest,
            format=inspected.format,
            size=stored.size,
            signature=inspected.signature,
            run_id=run,
            dataset_version_ids=datasets,
            trusted_pickle=inspected.trusted,
            created_by=ctx.principal.name,
            created_at=now,
        )
        session.add(row)
        session.flush()
        if run is not None:
            link(
                session,
                src_id=run,
                src_kind="run",
                dst_id=row.id,
                dst_kind="model_version",
                relation="produced",
                at=now,
            )
        record_change(
            session,
            ctx,
            action=action,
            object_id=row.id,
            change={
                "model": name,
                "team": team,
                "version": row.version,
                "digest": f"sha256:{stored.digest}",
                "format": inspected.format,
                "run": run,
                "datasets": datasets,
                "trusted_pickle": inspected.trusted,
                "created_model": created,
            },
            reason=reason,
            event="model.version.created",
        )
        return version_record(row, model, team, {})


def set_alias(
    ctx: Context, ref: str, alias: str, *, expect: int | None = None, reason: str = ""
) -> AliasMove:
    """Point ``alias`` at the version ``ref`` names (``name@version``), compare-and-swap.

    ``expect`` (when given) is the version the alias must point at now; the move is one
    conditional UPDATE, so two concurrent moves cannot both win.
    """
    if not _ALIAS.match(alias):
        raise Invalid(f"'{alias}' must start with a-z and use only a-z 0-9 _ -", field="alias")
    parsed = parse_ref(ref)
    if parsed.version is None:
        raise Invalid(f"'{ref}' must name a version: NAME@VERSION", field="model")
    with ctx.db.transaction() as session:
        model = model_by_ref(session, parsed)
        ctx.require("model.alias", team_id=model.team_id, asset_id=model.asset_id)
        stage = stage_of_alias(session, model.team_id, model.name, alias)
        if stage is not None:
            raise Forbidden(
                f"alias '{alias}' of '{model.name}' is stage '{stage}' of its stage policy: "
                f"it moves only by `andon model promote` (gate and approvals) or rollback"
            )
        target = version_by_ref(session, model, parsed)
        current = alias_version(session, model.id, alias)
        if expect is not None and current != expect:
            raise Conflict(
                f"alias '{alias}' of '{model.name}' is at {current or 'nothing'}, not {expect}"
            )
        move_alias(
            session,
            model_id=model.id,
            model_name=model.name,
            alias=alias,
            expected=current,
            to=target.version,
            at=ctx.clock.now(),
        )
        team_name = team_names(session, [model.team_id])[model.team_id]
        record_change(
            session,
            ctx,
            action="model.alias",
            object_id=target.id,
            change={
                "model": model.name,
                "team": team_name,
                "alias": alias,
                "from": current,
                "to": target.version,
            },
            reason=reason,
            event="model.alias.moved",
        )
        return AliasMove(model.name, alias, current, target.version)


def get_version(ctx: Context, ref: str) -> VersionRecord:
    """The version ``ref`` names (latest when it names only the model)."""
    parsed = parse_ref(ref)
    with ctx.db.read() as session:
        model = model_by_ref(session, parsed)
        ctx.require("model.read", team_id=model.team_id, asset_id=model.asset_id)
        row = version_by_ref(session, model, parsed)
        team = team_names(session, [model.team_id])[model.team_id]
        return version_record(
            row, model, team, aliases_by_model(session, [model.id]).get(model.id, {})
        )


# A model, its team, versions (newest first) and each version's aliases: one row per
# (version, alias), one row with no version for a model without any. Aliases always point
# at an existing version (set_alias checks it; versions are never deleted).
_MODEL_WITH_VERSIONS = (
    "SELECT m.id, m.name, t.name, m.asset_id, m.last_version, m.created_at, m.team_id, "
    "v.id, v.version, v.digest, v.format, v.size, v.signature, v.run_id, "
    "v.dataset_version_ids, v.trusted_pickle, v.created_by, v.created_at, a.alias "
    "FROM models m JOIN teams t ON t.id = m.team_id "
    "LEFT JOIN model_versions v ON v.model_id = m.id "
    "LEFT JOIN model_aliases a ON a.model_id = m.id AND a.version = v.version "
    "WHERE m.name = ?"
)
_MODEL_ORDER = " ORDER BY v.version DESC"

# Every model with its team, by team and name; then the aliases (of one team's models).
_MODELS = (
    "SELECT m.id, m.name, t.name, m.asset_id, m.last_version, m.created_at, m.team_id "
    "FROM models m JOIN teams t ON t.id = m.team_id{where} ORDER BY t.name, m.name"
)
_ALIASES = "SELECT a.model_id, a.alias, a.version FROM model_aliases a"
_TEAM_ALIASES = _ALIASES + " JOIN models m ON m.id = a.model_id WHERE m.team_id = ?"


def get_model(ctx: Context, ref: str) -> ModelRecord:
    """A model with all its versions (newest first) and aliases."""
    parsed = parse_ref(ref)
    sql, args = _MODEL_WITH_VERSIONS, [parsed.name]
    if parsed.team:
        sql, args = sql + " AND t.name = ?", [*args, parsed.team]
    with ctx.db.read() as session:
        conn = session.connection()
        rows = conn.exec_driver_sql(_driver_sql(conn, sql + _MODEL_ORDER), tuple(args)).all()
        if not rows:
            if parsed.team:
                team_by_name(session, parsed.team)  # an unknown team is reported as such
            where = f" in team '{parsed.team}'" if parsed.team else ""
            raise NotFound(f"no model named '{parsed.name}'{where}", field="model")
        if len({row[0] for row in rows}) > 1:
            raise Invalid(
                f"several teams have a model named '{parsed.name}': write TEAM/{parsed.name}",
                field="model",
            )
        model_id, name, team, asset_id, last_version, created_at, team_id = rows[0][:7]
        ctx.require("model.read", team_id=team_id, asset_id=asset_id)
    versions: list[VersionRecord] = []
    aliases: dict[str, int] = {}
    for row in rows:  # newest version first; a version with n aliases comes n times
        number, alias = row[8], row[18]
        if number is None:  # a model without versions
            continue
        if alias is not None:
            aliases[alias] = number
        if versions and versions[-1].version == number:
            versions[-1].aliases.append(alias)
            continue
        versions.append(
            VersionRecord(
                id=row[7],
                model=name,
                team=team,
                version=number,
                digest=row[9],
                format=row[10],
                size=row[11],
                signature=_json(row[12]),
                run_id=row[13],
                dataset_version_ids=_json(row[14]),
                trusted_pickle=bool(row[15]),
                aliases=[] if alias is None else [alias],
                created_by=row[16],
                created_at=_utc(row[17]),
            )
        )
    for version in versions:
        if len(version.aliases) > 1:
            version.aliases.sort()
    return ModelRecord(
        model_id,
        name,
        team,
        asset_id,
        last_version,
        _sorted(aliases),
        _utc(created_at),
        versions,
    )


def list_models(ctx: Context, *, team: str | None = None) -> list[ModelRecord]:
    """Models the principal may read, by team and name (without their versions)."""
    with ctx.db.read() as session:
        ctx.require_somewhere("model.read")
        team_id = team_by_name(session, team).id if team else None
        conn = session.connection()
        where, args = (" WHERE m.team_id = ?", (team_id,)) if team_id else ("", ())
        rows = conn.exec_driver_sql(_driver_sql(conn, _MODELS.format(where=where)), args).all()
        alias_sql = _driver_sql(conn, _TEAM_ALIASES if team_id else _ALIASES)
        alias_rows = conn.exec_driver_sql(alias_sql, args).all()
    if not ctx.can("model.read"):  # not a global reader: keep what the grants cover
        rows = [row for row in rows if ctx.can("model.read", team_id=row[6], asset_id=row[3])]
    aliases: dict[str, dict[str, int]] = {}
    for mid, alias, version in alias_rows:
        aliases.setdefault(mid, {})[alias] = version
    return [
        ModelRecord(
            mid, name, team_name, asset_id, last, _sorted(aliases.get(mid, {})), _utc(created)
        )
        for mid, name, team_name, asset_id, last, created, _ in rows
    ]


def _sorted(aliases: dict[str, int]) -> dict[str, int]:
    """``aliases`` by name (most models have one alias or none)."""
    return dict(sorted(aliases.items())) if len(aliases) > 1 else aliases


def load_model(ctx: Context, ref: str) -> Any:
    """The version's model, digest verified: an ONNX Runtime session, a skops estimator,
    the bytes of an opaque file, or (only when registered as trusted) an unpickled object."""
    version = get_version(ctx, ref)
    data = _artifacts(ctx).read_bytes(version.digest)
    if version.format == "onnx":
        return formats.load_onnx(data)
    if version.format == "skops":
        return formats.load_skops(data, list(version.signature.get("trusted_types", [])))
    if version.format == "pickle":
        if not version.trusted_pickle:  # pragma: no cover - registration refuses these
            raise Invalid(f"{version.ref} is an untrusted pickle: refusing to load it")
        return formats.load_pickle(data)
    return data
