"""Models and their versions: register, read, list and load them (the service operations).

Models are assets of a team: the first registration of a name creates the model and its asset
row, and checks on an existing model pass its asset id, so asset-scoped role bindings apply.
Registering a version stores the artifact content-addressed, inspects its format (pickles only
for a platform-admin's ``model.trust_pickle``), links it to the run that produced it and is
audited with an outbox event. Model references are ``[team/]name[@version|@alias]``
(:func:`andon.registry.queries.parse_ref`); aliases move in :mod:`andon.registry.aliases`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.auth.queries import team_by_name
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, NotFound
from andon.core.ids import new_id
from andon.lineage.service import link
from andon.registry import formats
from andon.registry.driver_sql import driver_sql, json_value, utc_value
from andon.registry.queries import (
    aliases_by_model,
    model_by_ref,
    parse_ref,
    run_by_id,
    team_names,
    version_by_ref,
    version_record,
)
from andon.registry.records import ModelRecord, VersionRecord
from andon.store.artifacts import ArtifactStore
from andon.store.tables import auth as t
from andon.store.tables import registry as r

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


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
                f"{path.name} is a pickle/joblib file, which runs code when loaded",
                field="artifact",
                hint="export it as ONNX or skops, or have a platform-admin register it with "
                "`--trust-pickle`",
            )
        return _Inspected("pickle", {}, True)
    if fmt == "onnx":
        return _Inspected("onnx", formats.onnx_signature(data), False)
    if fmt == "skops":
        untrusted = formats.skops_untrusted(data)
        if untrusted and not trust_pickle:
            raise Invalid(
                f"{path.name} holds types skops does not trust ({', '.join(untrusted[:5])})",
                field="artifact",
                hint="a platform-admin may register it with `--trust-pickle`",
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
        raise NotFound(f"no file at {path}", field="artifact")

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
    stored = ArtifactStore(ctx.settings.artifact_dir).put_file(path)
    if stored.digest != inspected.digest:
        raise Conflict(f"{path.name} changed while it was being registered; try again")
    with ctx.db.transaction() as session:
        team_row, _ = check(session)
        datasets: list[str] = []
        if run is not None:
            run_row = run_by_id(session, run)
            if run_row.team_id != team_row.id:
                raise Invalid(f"run {run} belongs to another team", field="run")
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
        rows = conn.exec_driver_sql(driver_sql(conn, sql + _MODEL_ORDER), tuple(args)).all()
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
                signature=json_value(row[12]),
                run_id=row[13],
                dataset_version_ids=json_value(row[14]),
                trusted_pickle=bool(row[15]),
                aliases=[] if alias is None else [alias],
                created_by=row[16],
                created_at=utc_value(row[17]),
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
        utc_value(created_at),
        versions,
    )


def list_models(ctx: Context, *, team: str | None = None) -> list[ModelRecord]:
    """Models the principal may read, by team and name (without their versions)."""
    with ctx.db.read() as session:
        ctx.require_somewhere("model.read")
        team_id = team_by_name(session, team).id if team else None
        conn = session.connection()
        where, args = (" WHERE m.team_id = ?", (team_id,)) if team_id else ("", ())
        rows = conn.exec_driver_sql(driver_sql(conn, _MODELS.format(where=where)), args).all()
        alias_sql = driver_sql(conn, _TEAM_ALIASES if team_id else _ALIASES)
        alias_rows = conn.exec_driver_sql(alias_sql, args).all()
    if not ctx.can("model.read"):  # not a global reader: keep what the grants cover
        rows = [row for row in rows if ctx.can("model.read", team_id=row[6], asset_id=row[3])]
    aliases: dict[str, dict[str, int]] = {}
    for mid, alias, version in alias_rows:
        aliases.setdefault(mid, {})[alias] = version
    return [
        ModelRecord(
            mid, name, team_name, asset_id, last, _sorted(aliases.get(mid, {})), utc_value(created)
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
    data = ArtifactStore(ctx.settings.artifact_dir).read_bytes(version.digest)
    if version.format == "onnx":
        return formats.load_onnx(data)
    if version.format == "skops":
        return formats.load_skops(data, list(version.signature.get("trusted_types", [])))
    if version.format == "pickle":
        if not version.trusted_pickle:  # pragma: no cover - registration refuses these
            raise Invalid(f"{version.ref} is an untrusted pickle: refusing to load it")
        return formats.load_pickle(data)
    return data
