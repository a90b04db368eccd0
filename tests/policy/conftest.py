"""Policy fixtures: a fraud-ml line with its people, models, evaluations and card sections.

``add_evaluation`` inserts an ``evaluations`` row directly: the evaluation harness is written in
parallel (src/andon/store/tables/evaluate.py is the contract both sides share); at merge the
lead switches this one helper to the real harness. Everything else goes through the services.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from andon.auth import service as auth
from andon.cards import narrative as cards
from andon.cards.narrative import REQUIRED
from andon.core.context import Context
from andon.core.ids import new_id
from andon.policy import service as policy
from andon.registry import service as registry
from andon.store.tables import evaluate as e
from tests.cli.conftest import andon_env, run  # noqa: F401  (CLI fixtures)
from tests.conftest import as_principal

TEAM = "fraud-ml"
PEOPLE = {
    "alice": ("contributor", "team"),  # builds and ships the model
    "gita": ("approver", "team"),
    "hugo": ("risk-owner", "team"),
    "chen": ("approver", "team"),
    "vera": ("viewer", "team"),
}
GOOD = {
    "task": "classification",
    "rows": 1000,
    "f1": 0.86,
    "accuracy": 0.91,
    "latency_p95_ms": 40.0,
    "bias": {"attribute": "segment", "demographic_parity_diff": 0.03},
    "slices": {"segment=retail": {"rows": 600, "f1": 0.87}},
}
GATE = (
    "eval.f1 >= champion.f1 - 0.01 && eval.latency_p95_ms <= 120 "
    "&& eval.bias.demographic_parity_diff <= 0.1 && card.complete"
)


def policy_yaml(
    gate: str = GATE,
    approvals: tuple[str, ...] = ("approver", "risk-owner"),
    *,
    team: str = TEAM,
    model: str | None = None,
    expires: str = "72h",
) -> str:
    """A two-stage policy: staging (gate ``true``, no approvals) and production."""
    roles = ", ".join(approvals)
    return (
        f"team: {team}\n" + (f"model: {model}\n" if model else "") + "stages:\n"
        "  staging:\n    gate: 'true'\n"
        f'  production:\n    gate: "{gate}"\n    approvals: [{roles}]\n'
        f"    expires: {expires}\n"
        "    rollback:\n      when: slo.p95_ms > 120 || drift.status == 'red'\n      for: 10m\n"
    )


@dataclass
class Line:
    """The fraud-ml line: the admin, its people's contexts, and helpers to build models."""

    admin: Context
    people: dict[str, Context] = field(default_factory=dict)
    _n: itertools.count[int] = field(default_factory=itertools.count)

    def __getitem__(self, name: str) -> Context:
        return self.people[name]

    def model(self, name: str = "fraud", *, run_id: str | None = None) -> str:
        """Register a new version of ``name`` (an opaque artifact); returns ``name@N``."""
        folder = Path(tempfile.mkdtemp(prefix="andon-policy-"))
        path = folder / f"weights-{next(self._n)}.txt"
        path.write_text(f"{name} {path.name}\n")
        version = registry.register_model(self.admin, name, team=TEAM, artifact=path, run=run_id)
        return f"{name}@{version.version}"

    def complete_card(self, ref: str) -> None:
        for section in REQUIRED:
            cards.edit_section(self.admin, ref, section, f"{section} of the fraud model")

    def add_evaluation(
        self,
        ref: str,
        metrics: dict[str, Any] | None = None,
        champion: str | None = None,
        champion_metrics: dict[str, Any] | None = None,
    ) -> str:
        """Store an evaluation of ``ref`` (see the module docstring); returns its id."""
        candidate = registry.get_version(self.admin, ref)
        champion_id = registry.get_version(self.admin, champion).id if champion else None
        metrics = dict(GOOD if metrics is None else metrics)
        deltas = {
            k: metrics[k] - champion_metrics[k]
            for k in metrics
            if champion_metrics
            and isinstance(metrics[k], int | float)
            and isinstance(champion_metrics.get(k), int | float)
        }
        evaluation_id = new_id("evaluation")
        with self.admin.db.transaction() as session:
            session.add(
                e.Evaluation(
                    id=evaluation_id,
                    model_version_id=candidate.id,
                    champion_version_id=champion_id,
                    dataset_version_id="dv_test",
                    suite_name="fraud-suite",
                    suite={"name": "fraud-suite"},
                    metrics=metrics,
                    champion_metrics=champion_metrics,
                    deltas=deltas,
                    created_by="admin",
                    created_at=self.admin.clock.now(),
                )
            )
        return evaluation_id

    def ready(self, name: str = "fraud", metrics: dict[str, Any] | None = None) -> str:
        """A new version with a complete card and a good evaluation."""
        ref = self.model(name)
        self.complete_card(ref)
        self.add_evaluation(ref, metrics)
        return ref


@pytest.fixture
def line(admin: Context) -> Line:
    """Team fraud-ml, its people bound at team scope, and the sample-like policy applied."""
    auth.create_team(admin, TEAM)
    for name, (role, scope) in PEOPLE.items():
        auth.create_principal(admin, name)
        auth.bind_role(admin, name, role, scope=scope, target=TEAM)
    policy.apply_policy(admin, policy_yaml())
    built = Line(admin)
    built.people = {name: as_principal(admin, name) for name in PEOPLE}
    return built


def snapshot(ctx: Context) -> dict[str, list[str]]:
    """Every row of every table, as text: a refusal must leave this unchanged."""
    from sqlalchemy import select

    from andon.store.schema import metadata

    with ctx.db.read() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
            for table in metadata.sorted_tables
        }
