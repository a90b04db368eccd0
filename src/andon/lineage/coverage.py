"""Lineage coverage: which production model versions can be explained end to end.

A production model version's chain is complete (docs/lineage.md, the factory's edge
convention) when the lineage graph holds every link of::

    dataset_version -input-> run -produced-> model_version
    model_version -input-> evaluation, gate_decision, approval, promotion

"Production model versions" are the versions the ``champion`` alias points at now, plus every
version it ever pointed at: moved by hand (``model alias``, audited) or by a promotion or
rollback of the ``production`` stage (the policy domain's promotions table). The report
lists, for each incomplete version, exactly which links it lacks, in chain order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.context import Context
from andon.store.tables import audit as audit_tables
from andon.store.tables import auth as t
from andon.store.tables import policy as p
from andon.store.tables.lineage import LineageEdge
from andon.store.tables.registry import Model, ModelAlias, ModelVersion

PRODUCTION_ALIAS = "champion"
PRODUCTION_STAGE = "production"
LINKS = ("run", "dataset_version", "evaluation", "gate_decision", "approval", "promotion")
"""The links of a complete chain, upstream to downstream."""
_DOWNSTREAM = ("evaluation", "gate_decision", "approval", "promotion")


@dataclass(frozen=True, slots=True)
class VersionCoverage:
    """One production model version: the objects found for each link, and what is missing."""

    id: str
    model: str
    team: str
    version: int
    champion: bool  # the champion alias points at it now
    links: dict[str, list[str]]  # link kind -> ids found
    missing: list[str]

    @property
    def complete(self) -> bool:
        """Whether every link of the chain is present."""
        return not self.missing

    @property
    def ref(self) -> str:
        """``name@version``."""
        return f"{self.model}@{self.version}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "model": self.model,
            "team": self.team,
            "version": self.version,
            "ref": self.ref,
            "champion": self.champion,
            "complete": self.complete,
            "links": {k: list(v) for k, v in self.links.items()},
            "missing": list(self.missing),
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """The share of production model versions whose chain is complete."""

    total: int
    complete: int
    versions: list[VersionCoverage]

    @property
    def share(self) -> float:
        """``complete / total`` (1.0 when there is nothing in production to explain)."""
        return self.complete / self.total if self.total else 1.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "total": self.total,
            "complete": self.complete,
            "share": round(self.share, 4),
            "links": list(LINKS),
            "versions": [v.as_dict() for v in self.versions],
        }


def _production_versions(session: Session) -> tuple[set[str], set[str]]:
    """Ids of the versions ``champion`` points at now, and of every version it ever did."""
    current = set(
        session.scalars(
            select(ModelVersion.id)
            .join(ModelAlias, ModelAlias.model_id == ModelVersion.model_id)
            .where(ModelAlias.alias == PRODUCTION_ALIAS, ModelAlias.version == ModelVersion.version)
        )
    )
    ever = set(current)
    for object_id, change in session.execute(
        select(audit_tables.AuditEntry.object_id, audit_tables.AuditEntry.change).where(
            audit_tables.AuditEntry.action == "model.alias"
        )
    ):
        if isinstance(change, dict) and change.get("alias") == PRODUCTION_ALIAS:
            ever.add(object_id)
    # Promotions (and rollbacks) through the policy domain name the version they moved to.
    ever.update(
        session.scalars(
            select(p.Promotion.model_version_id).where(
                (p.Promotion.stage == PRODUCTION_STAGE) | (p.Promotion.alias == PRODUCTION_ALIAS)
            )
        )
    )
    return current, ever


def _edges_by(session: Session, column: Any, ids: set[str]) -> list[LineageEdge]:
    found: list[LineageEdge] = []
    wanted = sorted(ids)
    for chunk in (wanted[i : i + 500] for i in range(0, len(wanted), 500)):
        found.extend(session.scalars(select(LineageEdge).where(column.in_(chunk))))
    return found


def coverage(ctx: Context) -> Coverage:
    """Lineage coverage of the production model versions the principal may read lineage of
    (``lineage.read``: a global grant sees every team, a team grant that team's models)."""
    with ctx.db.read() as session:
        ctx.require_somewhere("lineage.read")
        current, ever = _production_versions(session)
        rows = session.execute(
            select(ModelVersion.id, Model.name, t.Team.name, ModelVersion.version, Model.team_id)
            .join(Model, Model.id == ModelVersion.model_id)
            .join(t.Team, t.Team.id == Model.team_id)
            .where(ModelVersion.id.in_(sorted(ever)))
            .order_by(t.Team.name, Model.name, ModelVersion.version)
        ).all()
        rows = [row for row in rows if ctx.can("lineage.read", team_id=row[4])]
        ids = {row[0] for row in rows}
        produced_by: dict[str, list[str]] = {}
        for e in _edges_by(session, LineageEdge.dst_id, ids):
            if e.relation == "produced" and e.src_kind == "run":
                produced_by.setdefault(e.dst_id, []).append(e.src_id)
        downstream: dict[tuple[str, str], list[str]] = {}
        for e in _edges_by(session, LineageEdge.src_id, ids):
            if e.relation == "input" and e.dst_kind in _DOWNSTREAM:
                downstream.setdefault((e.src_id, e.dst_kind), []).append(e.dst_id)
        runs = {r for found in produced_by.values() for r in found}
        run_inputs: dict[str, list[str]] = {}
        for e in _edges_by(session, LineageEdge.dst_id, runs):
            if e.relation == "input" and e.src_kind == "dataset_version":
                run_inputs.setdefault(e.dst_id, []).append(e.src_id)
        versions = []
        for vid, model, team, number, _ in rows:
            version_runs = sorted(produced_by.get(vid, []))
            links = {
                "run": version_runs,
                "dataset_version": sorted({d for r in version_runs for d in run_inputs.get(r, [])}),
            }
            for kind in _DOWNSTREAM:
                links[kind] = sorted(downstream.get((vid, kind), []))
            missing = [kind for kind in LINKS if not links[kind]]
            versions.append(
                VersionCoverage(vid, model, team, number, vid in current, links, missing)
            )
        complete = sum(1 for v in versions if v.complete)
        return Coverage(len(versions), complete, versions)
