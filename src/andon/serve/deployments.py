"""Deployments: the model versions each model endpoint started serving, and the move that
caused each.

A model endpoint serves whatever version its alias points to; the alias moves by promotion,
rollback or by hand (``model alias``), and the gateway follows within a second.
:func:`sync_deployments` writes that history down: for each model endpoint whose alias now
points at another version than its latest deployment, it records a deployment naming the
version, the one before, and the move that caused it (the promotion or rollback and its audit
entry, or the audit entry of the hand move). A second call records nothing. Each deployment
is audited (``endpoint.deploy``, event ``endpoint.deployed``) with lineage edges: the model
version ``-input->`` the deployment and the endpoint, the promotion ``-produced->`` the
deployment, the deployment ``-input->`` the endpoint.

Syncing needs ``endpoint.deploy`` on the endpoint's team (contributors and the platform-admin);
applying a model endpoint whose alias is set records its first deployment under
``endpoint.apply``. Reading the history needs ``endpoint.read``.
"""

from __future__ import annotations

from sqlalchemy import select

from andon.core.context import Context
from andon.registry.queries import team_names
from andon.serve.deployment_log import deployment_record, record_deployments
from andon.serve.endpoints import endpoint_row
from andon.serve.records import DeploymentRecord
from andon.store.tables import serve as s


def sync_deployments(
    ctx: Context, endpoint: str | None = None, *, reason: str = ""
) -> list[DeploymentRecord]:
    """Record a deployment for each model endpoint (or just ``endpoint``) whose alias now
    points at another version than it last recorded; returns the new ones (none when nothing
    moved). Without ``endpoint``, syncs the endpoints of every team the principal may deploy."""
    with ctx.db.transaction() as session:
        if endpoint is not None:
            row = endpoint_row(session, endpoint)
            ctx.require("endpoint.deploy", team_id=row.team_id)
            rows = [row]
        else:
            ctx.require_somewhere("endpoint.deploy")
            rows = [
                row
                for row in session.scalars(
                    select(s.Endpoint).where(s.Endpoint.kind == "model").order_by(s.Endpoint.name)
                )
                if ctx.can("endpoint.deploy", team_id=row.team_id)
            ]
        return record_deployments(session, ctx, rows, reason=reason)


def list_deployments(ctx: Context, endpoint: str) -> list[DeploymentRecord]:
    """The deployments of ``endpoint``, newest first."""
    with ctx.db.read() as session:
        row = endpoint_row(session, endpoint)
        ctx.require("endpoint.read", team_id=row.team_id, asset_id=row.asset_id)
        team = team_names(session, [row.team_id])[row.team_id]
        return [
            deployment_record(d, row, team)
            for d in session.scalars(
                select(s.EndpointDeployment)
                .where(s.EndpointDeployment.endpoint_id == row.id)
                .order_by(s.EndpointDeployment.seq.desc())
            )
        ]
