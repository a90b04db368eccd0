"""Writing lineage edges inside the caller's transaction (services of other domains use this).

An edge says ``src`` flowed into ``dst``: a dataset version was an ``input`` of a run, a run
``produced`` a model version. Edges are written in the same transaction as the state change
that creates them, so the graph never names an object that was rolled back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.ids import new_id
from andon.store.tables.lineage import LineageEdge

KINDS = (
    "dataset_version",
    "run",
    "model_version",
    "model",
    "evaluation",
    "gate_decision",
    "approval",
    "promotion",
    "deployment",
    "endpoint",
)
"""Object kinds on the line, upstream to downstream: data, training, model, evaluation, gate
decision, approval, promotion (the chain ``lineage coverage`` checks), then serving: the
deployment a promotion or alias move caused and the endpoint (its asset) that serves it."""
RELATIONS = ("input", "produced")


def link(
    session: Session,
    *,
    src_id: str,
    src_kind: str,
    dst_id: str,
    dst_kind: str,
    relation: str,
    at: datetime,
) -> None:
    """Add the edge ``src -relation-> dst`` unless it already exists (idempotent)."""
    if src_kind not in KINDS or dst_kind not in KINDS:
        raise ValueError(f"unknown lineage kind {src_kind!r} or {dst_kind!r}")
    if relation not in RELATIONS:
        raise ValueError(f"unknown lineage relation {relation!r}")
    exists = session.scalar(
        select(LineageEdge.id).where(
            LineageEdge.src_id == src_id,
            LineageEdge.dst_id == dst_id,
            LineageEdge.relation == relation,
        )
    )
    if exists is None:
        session.add(
            LineageEdge(
                id=new_id("edge"),
                src_id=src_id,
                src_kind=src_kind,
                dst_id=dst_id,
                dst_kind=dst_kind,
                relation=relation,
                created_at=at,
            )
        )
