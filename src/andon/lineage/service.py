"""Lineage queries: the graph around an object, and OpenLineage export.

Edges are written by other services through :func:`andon.lineage.edges.link`; this module
only reads. ``graph`` walks upstream (what flowed into the object), downstream (what it flowed
into) or both, breadth first up to ``depth`` hops.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid, NotFound
from andon.lineage.edges import link as link  # re-exported: services write edges through it
from andon.store.tables import auth as t
from andon.store.tables.lineage import LineageEdge
from andon.store.tables.registry import Model, ModelVersion, Run, RunDataset

Direction = Literal["upstream", "downstream", "both"]
NAMESPACE = "andon"
PRODUCER = "https://andon.dev/andon"


@dataclass(frozen=True, slots=True)
class Edge:
    """``src -relation-> dst``."""

    src: str
    src_kind: str
    relation: str
    dst: str
    dst_kind: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {
            "src": self.src,
            "src_kind": self.src_kind,
            "relation": self.relation,
            "dst": self.dst,
            "dst_kind": self.dst_kind,
        }


@dataclass
class Graph:
    """The objects reachable from ``root`` and the edges between them."""

    root: str
    direction: Direction
    nodes: dict[str, str] = field(default_factory=dict)  # id -> kind
    edges: list[Edge] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "root": self.root,
            "direction": self.direction,
            "nodes": [{"id": i, "kind": k} for i, k in sorted(self.nodes.items())],
            "edges": [e.as_dict() for e in self.edges],
        }

    def to_dot(self) -> str:
        """Graphviz DOT text."""
        lines = ["digraph lineage {", "  rankdir=LR;"]
        for node, kind in sorted(self.nodes.items()):
            shape = {"dataset_version": "cylinder", "run": "box"}.get(kind, "ellipse")
            lines.append(f'  "{node}" [label="{kind}\\n{node}", shape={shape}];')
        for e in self.edges:
            lines.append(f'  "{e.src}" -> "{e.dst}" [label="{e.relation}"];')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_tree(self) -> str:
        """An indented text tree from the root (upstream shown with ``<-``)."""
        out = [f"{self.root} ({self.nodes.get(self.root, '?')})"]
        down: dict[str, list[Edge]] = {}
        up: dict[str, list[Edge]] = {}
        for e in self.edges:
            down.setdefault(e.src, []).append(e)
            up.setdefault(e.dst, []).append(e)

        def walk(node: str, indent: int, seen: set[str], upstream: bool) -> None:
            for e in (up if upstream else down).get(node, []):
                other = e.src if upstream else e.dst
                kind = e.src_kind if upstream else e.dst_kind
                arrow = "<-" if upstream else "->"
                out.append(f"{'  ' * indent}{arrow} {e.relation}: {other} ({kind})")
                if other not in seen:
                    walk(other, indent + 1, seen | {other}, upstream)

        if self.direction in ("upstream", "both"):
            walk(self.root, 1, {self.root}, True)
        if self.direction in ("downstream", "both"):
            walk(self.root, 1, {self.root}, False)
        return "\n".join(out) + "\n"


def _kind_of(session: Session, object_id: str) -> str | None:
    row = session.execute(
        select(LineageEdge.src_kind).where(LineageEdge.src_id == object_id).limit(1)
    ).first()
    if row:
        return str(row[0])
    row = session.execute(
        select(LineageEdge.dst_kind).where(LineageEdge.dst_id == object_id).limit(1)
    ).first()
    return str(row[0]) if row else None


def graph(ctx: Context, object_id: str, *, direction: Direction = "both", depth: int = 20) -> Graph:
    """The lineage around ``object_id`` (a run, model version or dataset version id)."""
    if direction not in ("upstream", "downstream", "both"):
        raise Invalid(f"'{direction}' is not upstream, downstream or both", field="direction")
    if depth < 1 or depth > 100:
        raise Invalid("must be between 1 and 100", field="depth")
    with ctx.db.read() as session:
        ctx.require_somewhere("lineage.read")
        kind = _kind_of(session, object_id)
        if kind is None:
            if session.get(Run, object_id) is not None:
                kind = "run"
            elif session.get(ModelVersion, object_id) is not None:
                kind = "model_version"
            else:
                raise NotFound(f"no lineage recorded for '{object_id}'", field="object")
        result = Graph(object_id, direction, {object_id: kind})
        seen_edges: set[tuple[str, str, str]] = set()
        for upstream in (True, False):
            if direction == ("downstream" if upstream else "upstream"):
                continue
            frontier = {object_id}
            for _ in range(depth):
                if not frontier:
                    break
                column = LineageEdge.dst_id if upstream else LineageEdge.src_id
                rows = session.scalars(select(LineageEdge).where(column.in_(frontier))).all()
                frontier = set()
                for row in sorted(rows, key=lambda e: (e.created_at, e.id)):
                    key = (row.src_id, row.dst_id, row.relation)
                    if key in seen_edges:
                        continue
                    seen_edges.add(key)
                    result.edges.append(
                        Edge(row.src_id, row.src_kind, row.relation, row.dst_id, row.dst_kind)
                    )
                    other, other_kind = (
                        (row.src_id, row.src_kind) if upstream else (row.dst_id, row.dst_kind)
                    )
                    if other not in result.nodes:
                        result.nodes[other] = other_kind
                        frontier.add(other)
        return result


def _uuid(object_id: str) -> str:
    """A stable UUID for an andon id (OpenLineage run ids are UUIDs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"andon:{object_id}"))


_EVENT_TYPE = {"finished": "COMPLETE", "failed": "FAIL", "killed": "ABORT"}


def openlineage_events(ctx: Context) -> list[dict[str, Any]]:
    """OpenLineage ``RunEvent``s for every run: a START with its input dataset versions and,
    once it ended, a COMPLETE, FAIL or ABORT with its output model versions too. Needs
    ``lineage.read`` globally (it exports every team)."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, RunEvent, RunState
    from openlineage.client.event_v2 import Run as OLRun
    from openlineage.client.serde import Serde

    with ctx.db.read() as session:
        ctx.require("lineage.read")
        teams: dict[str, str] = {
            tid: name for tid, name in session.execute(select(t.Team.id, t.Team.name))
        }
        inputs: dict[str, list[str]] = {}
        for rid, dsv in session.execute(select(RunDataset.run_id, RunDataset.dataset_version_id)):
            inputs.setdefault(rid, []).append(dsv)
        outputs: dict[str, list[tuple[str, str, int]]] = {}
        for run_id, mv_id, model_name, version in session.execute(
            select(ModelVersion.run_id, ModelVersion.id, Model.name, ModelVersion.version)
            .join(Model, Model.id == ModelVersion.model_id)
            .where(ModelVersion.run_id.is_not(None))
        ):
            if run_id is not None:
                outputs.setdefault(run_id, []).append((mv_id, model_name, version))
        events: list[dict[str, Any]] = []
        for run in session.scalars(select(Run).order_by(Run.started_at, Run.id)):
            job = Job(namespace=f"{NAMESPACE}/{teams[run.team_id]}", name=run.name)
            ins = [
                InputDataset(namespace=NAMESPACE, name=dsv)
                for dsv in sorted(inputs.get(run.id, []))
            ]
            outs = [
                OutputDataset(namespace=NAMESPACE, name=f"model/{name}@{version}")
                for _, name, version in sorted(outputs.get(run.id, []), key=lambda o: o[2])
            ]
            # The spec asks for a START and, once the run ended, one COMPLETE/FAIL/ABORT.
            states: list[tuple[str, datetime, list[OutputDataset]]] = [
                ("START", run.started_at, [])
            ]
            if run.status != "running" and run.ended_at is not None:
                states.append((_EVENT_TYPE[run.status], run.ended_at, outs))
            for state, when, produced in states:
                event = RunEvent(
                    eventType=RunState[state],
                    eventTime=as_utc(when).isoformat(),
                    producer=PRODUCER,
                    run=OLRun(runId=_uuid(run.id)),
                    job=job,
                    inputs=ins,
                    outputs=produced,
                )
                doc = json.loads(Serde.to_json(event))
                doc["run"].setdefault("facets", {})
                events.append(doc)
        return events
