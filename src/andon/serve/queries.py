"""What gateway workers read: the change counter and the snapshot they serve from.

A worker polls :func:`change_seq` (one indexed read) every 200 ms and reloads
:func:`load_snapshot` when it moved, so a cord pulled, an endpoint applied or an alias moved
reaches every worker well within a second without a restart (DESIGN.md, concurrency notes).
These reads carry no permission check: the gateway checks each caller against the snapshot.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from andon.audit.queries import head_seq
from andon.core.context import Database
from andon.policy.cord import PulledCord, pulled
from andon.registry.queries import alias_targets
from andon.serve.cords import pulled_endpoints
from andon.serve.deployment_log import latest_deployments
from andon.serve.records import Binding, BudgetRecord, DeploymentRecord, Snapshot, Stop
from andon.serve.spec import EndpointSpec
from andon.serve.spending import current_windows
from andon.store.tables import auth as t
from andon.store.tables import serve as s


def change_seq(db: Database) -> int:
    """The audit head's sequence: it moves with every state change."""
    with db.read() as session:
        return head_seq(session)


def current_deployments(db: Database) -> dict[str, DeploymentRecord]:
    """Endpoint name -> the newest deployment recorded for it (what the gateway reports as
    served; :func:`load_snapshot`'s bindings say what it serves right now)."""
    with db.read() as session:
        return latest_deployments(session)


def load_snapshot(db: Database) -> Snapshot:
    """Endpoints, the cords that stop them and the model versions they serve, in one read."""
    with db.read() as session:
        seq = head_seq(session)
        rows = list(session.scalars(select(s.Endpoint).order_by(s.Endpoint.name)))
        teams = {tid: name for tid, name in session.execute(select(t.Team.id, t.Team.name))}
        specs = {row.name: EndpointSpec.from_dict(row.spec) for row in rows}
        cords = pulled(session)
        ends = pulled_endpoints(session)
        wanted = [
            (row.team_id, specs[row.name].model or "", alias)
            for row in rows
            if row.kind == "model"
            for alias in _aliases(specs[row.name]).values()
        ]
        targets = alias_targets(session, wanted)
    stops: dict[str, Stop] = {}
    bindings: dict[str, Binding] = {}
    variants: dict[str, dict[str, Binding]] = {}
    for row in rows:
        spec = specs[row.name]
        stop = _stop(row, spec, cords, ends)
        if stop is not None:
            stops[row.name] = stop
        if spec.kind != "model" or not spec.model:
            continue
        for variant, alias in _aliases(spec).items():
            target = targets.get((row.team_id, spec.model, alias))
            if target is not None:
                variants.setdefault(row.name, {})[variant] = Binding(
                    spec.model,
                    alias,
                    target.version,
                    target.model_version_id,
                    target.digest,
                    target.format,
                    dict(target.signature),
                    variant,
                )
        if "primary" in variants.get(row.name, {}):
            bindings[row.name] = variants[row.name]["primary"]
    return Snapshot(
        seq=seq,
        endpoints=specs,
        endpoint_ids={row.name: row.id for row in rows},
        team_ids={name: team_id for team_id, name in teams.items()},
        asset_ids={row.name: row.asset_id for row in rows},
        stops=stops,
        bindings=bindings,
        variants=variants,
    )


def _aliases(spec: EndpointSpec) -> dict[str, str]:
    """Variant -> alias of a model endpoint (primary first)."""
    out = {"primary": spec.alias} if spec.alias else {}
    if spec.canary is not None:
        out["canary"] = spec.canary.alias
    if spec.shadow is not None:
        out["shadow"] = spec.shadow.alias
    return out


def _stop(
    row: s.Endpoint,
    spec: EndpointSpec,
    cords: list[PulledCord],
    ends: dict[str, tuple[str, datetime, str]],
) -> Stop | None:
    if row.name in ends:
        by, at, reason = ends[row.name]
        return Stop("endpoint", row.name, by, at, reason)
    for cord in cords:
        covers = (
            (cord.scope == "model" and spec.model == cord.target and cord.team_id == row.team_id)
            or (cord.scope == "team" and cord.team_id == row.team_id)
            or cord.scope == "all"
        )
        if covers:
            return Stop(cord.scope, cord.target, cord.by, cord.at, cord.reason)
    return None


def budget_windows(db: Database, now: datetime) -> list[BudgetRecord]:
    """Every budget's window of ``now``, unchecked: what the gateway exports on ``/metrics``
    (what is left of each)."""
    with db.read() as session:
        return current_windows(session, now)
