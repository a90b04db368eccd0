"""The deployment log inside the caller's session: recording what model endpoints started
serving and reading it back (:mod:`andon.serve.deployments` holds the operations).

:func:`record_deployments` runs inside the caller's transaction after the caller authorized it
(``sync_deployments`` checks ``endpoint.deploy``, ``apply_endpoint`` ``endpoint.apply``),
like ``audit.service.record_change``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.audit.queries import entries_for
from andon.audit.service import record_change
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict
from andon.core.ids import new_id
from andon.lineage.service import link
from andon.policy.queries import moves_to
from andon.registry.queries import AliasTarget, alias_targets, team_names
from andon.serve.records import DeploymentRecord
from andon.serve.spec import EndpointSpec
from andon.store.tables import serve as s

_CAUSES = {"model.promote": "promote", "model.rollback": "rollback", "model.alias": "alias"}


def latest_deployment(session: Session, endpoint_id: str) -> s.EndpointDeployment | None:
    """The endpoint's newest deployment."""
    return session.scalar(
        select(s.EndpointDeployment)
        .where(s.EndpointDeployment.endpoint_id == endpoint_id)
        .order_by(s.EndpointDeployment.seq.desc())
        .limit(1)
    )


def _cause(
    session: Session, target: AliasTarget, alias: str
) -> tuple[str | None, str | None, str | None]:
    """(cause, promotion id, audit entry id) of the newest move of ``alias`` to the target."""
    promotions = moves_to(session, target.model_id, alias, target.version)
    for entry in entries_for(session, [*promotions, target.model_version_id], _CAUSES):
        if entry.action == "model.alias" and (
            entry.change.get("alias") != alias or entry.change.get("to") != target.version
        ):
            continue
        cause = _CAUSES[entry.action]
        return cause, entry.object_id if cause != "alias" else None, entry.id
    return None, None, None


def deployment_record(
    row: s.EndpointDeployment, endpoint: s.Endpoint, team: str
) -> DeploymentRecord:
    """The record of a stored deployment of ``endpoint``."""
    return DeploymentRecord(
        id=row.id,
        endpoint=endpoint.name,
        endpoint_id=endpoint.id,
        team=team,
        model=row.model,
        alias=row.alias,
        version=row.version,
        from_version=row.from_version,
        model_version_id=row.model_version_id,
        artifact_digest=row.artifact_digest,
        cause=row.cause,
        promotion_id=row.promotion_id,
        cause_audit_id=row.cause_audit_id,
        deployed_at=as_utc(row.deployed_at),
        recorded_by=row.recorded_by,
    )


def record_deployments(
    session: Session, ctx: Context, endpoints: list[s.Endpoint], *, reason: str = ""
) -> list[DeploymentRecord]:
    """Record a deployment for each model endpoint whose alias target differs from its
    latest deployment (inside the caller's transaction; the caller has authorized it)."""
    specs = {row.id: EndpointSpec.from_dict(row.spec) for row in endpoints}
    wanted = [
        (row.team_id, specs[row.id].model or "", specs[row.id].alias or "")
        for row in endpoints
        if row.kind == "model"
    ]
    targets = alias_targets(session, wanted)
    teams = team_names(session, [row.team_id for row in endpoints])
    out: list[DeploymentRecord] = []
    for endpoint in endpoints:
        spec = specs[endpoint.id]
        if endpoint.kind != "model" or not spec.model or not spec.alias:
            continue
        target = targets.get((endpoint.team_id, spec.model, spec.alias))
        if target is None:  # the alias is not set: nothing is served
            continue
        latest = latest_deployment(session, endpoint.id)
        if latest is not None and latest.model_version_id == target.model_version_id:
            continue
        cause, promotion_id, audit_id = _cause(session, target, spec.alias)
        now = ctx.clock.now()
        row = s.EndpointDeployment(
            id=new_id("deployment"),
            endpoint_id=endpoint.id,
            seq=latest.seq + 1 if latest is not None else 1,
            model_version_id=target.model_version_id,
            model=spec.model,
            alias=spec.alias,
            version=target.version,
            from_version=latest.version if latest is not None else None,
            artifact_digest=target.digest,
            cause=cause,
            promotion_id=promotion_id,
            cause_audit_id=audit_id,
            deployed_at=now,
            recorded_by=ctx.principal.name,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            raise Conflict(
                f"a deployment of endpoint '{endpoint.name}' was recorded concurrently; retry"
            ) from None
        mv = target.model_version_id
        edges = [
            (mv, "model_version", row.id, "deployment", "input"),
            (mv, "model_version", endpoint.asset_id, "endpoint", "input"),
            (row.id, "deployment", endpoint.asset_id, "endpoint", "input"),
        ]
        if promotion_id is not None:
            edges.append((promotion_id, "promotion", row.id, "deployment", "produced"))
        for src, src_kind, dst, dst_kind, relation in edges:
            link(
                session,
                src_id=src,
                src_kind=src_kind,
                dst_id=dst,
                dst_kind=dst_kind,
                relation=relation,
                at=now,
            )
        record = deployment_record(row, endpoint, teams[endpoint.team_id])
        record_change(
            session,
            ctx,
            action="endpoint.deploy",
            object_id=row.id,
            change={
                "endpoint": endpoint.name,
                "team": record.team,
                "model": spec.model,
                "alias": spec.alias,
                "version": target.version,
                "from_version": record.from_version,
                "model_version_id": mv,
                "artifact_digest": target.digest,
                "cause": cause,
                "promotion_id": promotion_id,
                "cause_audit_id": audit_id,
            },
            reason=reason,
            event="endpoint.deployed",
        )
        out.append(record)
    return out


def latest_deployments(session: Session) -> dict[str, DeploymentRecord]:
    """Endpoint name -> its newest deployment, for every model endpoint that has one."""
    endpoints = {row.id: row for row in session.scalars(select(s.Endpoint))}
    teams = team_names(session, {row.team_id for row in endpoints.values()})
    out: dict[str, DeploymentRecord] = {}
    for d in session.scalars(select(s.EndpointDeployment).order_by(s.EndpointDeployment.seq)):
        endpoint = endpoints[d.endpoint_id]
        out[endpoint.name] = deployment_record(d, endpoint, teams[endpoint.team_id])
    return out
