"""Card fixtures: a small real line (a dataset version, a run, two model versions, a champion)
and :func:`record_evaluation`.

``record_evaluation`` writes an ``Evaluation`` row (and its lineage edges, per the factory's
edge convention) directly, in the shape :mod:`andon.evaluate.facts` documents, because the
evaluation harness is built in parallel; at merge the lead switches it to the real harness
(``andon.evaluate``), keeping the same arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from andon.core.context import Context
from andon.core.ids import new_id
from andon.data import service as data
from andon.lineage.edges import link
from andon.registry import service as registry
from andon.store.tables import evaluate as e
from tests.cli.conftest import andon_env, run  # noqa: F401  (CLI fixtures)
from tests.data.conftest import tiny_contract
from tests.registry.conftest import model_files, team  # noqa: F401  (registry fixtures)

MODEL = "fraud-detector"
CANDIDATE_METRICS: dict[str, Any] = {
    "rows": 5,
    "task": "classification",
    "accuracy": 0.91,
    "f1": 0.86,
    "roc_auc": 0.95,
    "bias": {"attribute": "segment", "demographic_parity_diff": 0.03, "equalized_odds_diff": 0.05},
    "slices": {
        "segment=retail": {"rows": 3, "f1": 0.87},
        "segment=<b>vip</b>": {"rows": 2, "f1": 0.8},
    },
}
CHAMPION_METRICS: dict[str, Any] = {
    "rows": 5,
    "task": "classification",
    "accuracy": 0.9,
    "f1": 0.84,
    "roc_auc": 0.94,
}


def record_evaluation(
    admin: Context,
    model_version_id: str,
    dataset_version_id: str,
    metrics: dict[str, Any],
    *,
    champion_version_id: str | None = None,
    champion_metrics: dict[str, Any] | None = None,
    suite: str = "fraud-suite",
) -> str:
    """Store one evaluation of ``model_version_id`` on ``dataset_version_id``; returns its id.

    Stand-in for the evaluation harness (see the module docstring): the row and the edges
    ``dataset_version -input-> evaluation`` and ``model_version -input-> evaluation``.
    """
    deltas = {}
    if champion_metrics is not None:
        deltas = {
            k: v - champion_metrics[k]
            for k, v in metrics.items()
            if isinstance(v, float) and isinstance(champion_metrics.get(k), float)
        }
    evaluation_id = new_id("evaluation")
    now = admin.clock.now()
    with admin.db.transaction() as session:
        session.add(
            e.Evaluation(
                id=evaluation_id,
                model_version_id=model_version_id,
                champion_version_id=champion_version_id,
                dataset_version_id=dataset_version_id,
                suite_name=suite,
                suite={"name": suite},
                metrics=metrics,
                champion_metrics=champion_metrics,
                deltas=deltas,
                created_by=admin.principal.name,
                created_at=now,
            )
        )
        for src, kind in (
            (dataset_version_id, "dataset_version"),
            (model_version_id, "model_version"),
        ):
            link(
                session,
                src_id=src,
                src_kind=kind,
                dst_id=evaluation_id,
                dst_kind="evaluation",
                relation="input",
                at=now,
            )
    return evaluation_id


@dataclass(frozen=True)
class Line:
    """What the ``line`` fixture built."""

    dataset_version: str
    run_id: str
    v1: str  # model version ids
    v2: str


@pytest.fixture
def line(admin: Context, team: str, model_files: dict[str, Path]) -> Line:  # noqa: F811
    """A dataset version of a five-row table, a run that read it, ``fraud-detector`` v1 (ONNX,
    champion) and v2 (skops) from that run."""
    data.apply_contract(admin, tiny_contract("orders-contract", "orders"), team)
    dsv = data.snapshot_dataset(admin, f"{team}/orders").id
    run_rec = registry.create_run(admin, "train fraud", team, git_commit="abc123")
    registry.log_to_run(
        admin,
        run_rec.id,
        params={"C": 1.0, "note": "<i>x</i>"},
        metrics={"f1": 0.85},
        datasets=[dsv],
    )
    registry.end_run(admin, run_rec.id)
    v1 = registry.register_model(
        admin, MODEL, team=team, artifact=model_files["onnx"], run=run_rec.id
    )
    v2 = registry.register_model(
        admin, MODEL, team=team, artifact=model_files["skops"], run=run_rec.id
    )
    registry.set_alias(admin, f"{MODEL}@1", "champion")
    return Line(dsv, run_rec.id, v1.id, v2.id)
