"""The registry's public reads: model references and the rows and records they name.

Other domains (policy, cards, the board) read models and versions through these, and the
registry's own modules (runs in :mod:`~andon.registry.tracking`, models in
:mod:`~andon.registry.models`, alias moves in :mod:`~andon.registry.aliases`) share them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.auth.queries import team_by_name
from andon.core.clock import as_utc
from andon.core.errors import Invalid, NotFound
from andon.registry.records import VersionRecord
from andon.store.tables import auth as t
from andon.store.tables import registry as r

_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")
_REF = re.compile(r"^(?:(?P<team>[a-z0-9][a-z0-9_-]{0,62})/)?(?P<name>[^@/]+)(?:@(?P<at>[^@/]+))?$")


def team_names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """``{team_id: team_name}`` for the given ids."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(t.Team.id, t.Team.name).where(t.Team.id.in_(wanted)))
    return {tid: name for tid, name in rows}


@dataclass(frozen=True, slots=True)
class Ref:
    """A parsed model reference."""

    team: str | None
    name: str
    version: int | None
    alias: str | None


def parse_ref(text: str) -> Ref:
    """``[team/]name[@version|@alias]``."""
    m = _REF.match(text.strip())
    if m is None:
        raise Invalid(f"'{text}' is not NAME, NAME@VERSION or NAME@ALIAS", field="model")
    at = m.group("at")
    version = alias = None
    if at is not None:
        if at.isdigit():
            version = int(at)
        elif _ALIAS.match(at):
            alias = at
        else:
            raise Invalid(f"'{at}' is neither a version number nor an alias name", field="model")
    return Ref(m.group("team"), m.group("name"), version, alias)


def model_by_ref(session: Session, ref: Ref) -> r.Model:
    """The model ``ref`` names; NotFound when none, Invalid when several teams have one."""
    stmt = select(r.Model).where(r.Model.name == ref.name)
    if ref.team:
        stmt = stmt.where(r.Model.team_id == team_by_name(session, ref.team).id)
    rows = list(session.scalars(stmt))
    if not rows:
        where = f" in team '{ref.team}'" if ref.team else ""
        raise NotFound(f"no model named '{ref.name}'{where}", field="model")
    if len(rows) > 1:
        raise Invalid(
            f"several teams have a model named '{ref.name}': write TEAM/{ref.name}", field="model"
        )
    return rows[0]


def version_by_ref(session: Session, model: r.Model, ref: Ref) -> r.ModelVersion:
    """The version of ``model`` that ``ref`` names (its number, its alias, or the latest)."""
    number = ref.version
    if ref.alias is not None:
        number = session.scalar(
            select(r.ModelAlias.version).where(
                r.ModelAlias.model_id == model.id, r.ModelAlias.alias == ref.alias
            )
        )
        if number is None:
            raise NotFound(f"model '{model.name}' has no alias '{ref.alias}'", field="model")
    if number is None:
        number = model.last_version
        if number == 0:
            raise NotFound(f"model '{model.name}' has no versions yet", field="model")
    row = session.scalar(
        select(r.ModelVersion).where(
            r.ModelVersion.model_id == model.id, r.ModelVersion.version == number
        )
    )
    if row is None:
        raise NotFound(f"model '{model.name}' has no version {number}", field="model")
    return row


def run_by_id(session: Session, run_id: str) -> r.Run:
    """The run ``run_id``; NotFound when there is none."""
    row = session.get(r.Run, run_id)
    if row is None:
        raise NotFound(f"no run '{run_id}'", field="run")
    return row


def aliases_by_model(session: Session, model_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """Each model's aliases, ``{model_id: {alias: version}}``."""
    out: dict[str, dict[str, int]] = {}
    ids = list(model_ids)
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        for mid, alias, version in session.execute(
            select(r.ModelAlias.model_id, r.ModelAlias.alias, r.ModelAlias.version).where(
                r.ModelAlias.model_id.in_(chunk)
            )
        ):
            out.setdefault(mid, {})[alias] = version
    return out


def version_record(
    row: r.ModelVersion, model: r.Model, team: str, aliases: dict[str, int]
) -> VersionRecord:
    """A version row as a record; ``aliases`` are its model's (``{alias: version}``)."""
    return VersionRecord(
        id=row.id,
        model=model.name,
        team=team,
        version=row.version,
        digest=row.digest,
        format=row.format,
        size=row.size,
        signature=row.signature,
        run_id=row.run_id,
        dataset_version_ids=list(row.dataset_version_ids),
        trusted_pickle=row.trusted_pickle,
        aliases=sorted(a for a, v in aliases.items() if v == row.version),
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
    )


@dataclass(frozen=True, slots=True)
class AliasTarget:
    """The model version a stage alias points to, as a server needs it."""

    model_id: str
    model_version_id: str
    version: int
    digest: str
    format: str
    signature: dict[str, object]


def alias_targets(
    session: Session, wanted: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], AliasTarget]:
    """For each ``(team_id, model name, alias)``, the version the alias points to; pairs whose
    model or alias does not exist are absent."""
    out: dict[tuple[str, str, str], AliasTarget] = {}
    for team_id, name, alias in set(wanted):
        row = session.execute(
            select(r.Model.id, r.ModelVersion)
            .join(r.ModelAlias, r.ModelAlias.model_id == r.Model.id)
            .join(
                r.ModelVersion,
                (r.ModelVersion.model_id == r.Model.id)
                & (r.ModelVersion.version == r.ModelAlias.version),
            )
            .where(r.Model.team_id == team_id, r.Model.name == name, r.ModelAlias.alias == alias)
        ).first()
        if row is not None:
            model_id, mv = row
            out[(team_id, name, alias)] = AliasTarget(
                model_id, mv.id, mv.version, mv.digest, mv.format, dict(mv.signature)
            )
    return out
