"""Data facts as gates read them: did the checks of a model's training data pass?

Session-level reads for services that already checked access to the model (no permission
check here). For each training dataset version, the latest check run that read exactly that
version (versions are content-derived, so a later run over unchanged data reads the same
version) decides: its error-severity results for that dataset must all pass, and so must its
freshness results.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.data.records import FAILING
from andon.store.tables import data as d

STALE_KINDS = ("freshness", "latency", "frequency", "timeOfAvailability")
"""Result kinds that say the data is late (``freshness`` is how older runs were stored)."""


@dataclass(frozen=True, slots=True)
class VersionChecks:
    """The latest check run over one dataset version, as far as that dataset goes."""

    dataset_version_id: str
    check_run_id: str | None
    passed: bool | None
    fresh: bool | None
    failing: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dataset_version": self.dataset_version_id,
            "check_run": self.check_run_id,
            "passed": self.passed,
            "fresh": self.fresh,
            "failing": list(self.failing),
        }


@dataclass(frozen=True, slots=True)
class TrainingDataFacts:
    """Check outcomes over every training dataset version of a model version.

    ``passed``: there is at least one training dataset version, every one was checked, and
    every latest check passed. ``red``: some latest check failed (promotion refuses). An
    unchecked version is neither passed nor red. ``fresh``: no freshness check of a checked
    version failed (a contract without a freshness SLA counts as fresh).
    """

    versions: tuple[VersionChecks, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return bool(self.versions) and all(v.passed for v in self.versions)

    @property
    def red(self) -> bool:
        return any(v.passed is False for v in self.versions)

    @property
    def fresh(self) -> bool:
        return bool(self.versions) and all(v.fresh for v in self.versions)

    @property
    def failing(self) -> list[str]:
        """Failing checks, ``dataset_version: check`` (for one-line refusals)."""
        return [f"{v.dataset_version_id}: {c}" for v in self.versions for c in v.failing]

    def as_facts(self) -> dict[str, Any]:
        """The ``data`` facts of a gate."""
        return {
            "checks.passed": self.passed,
            "checks.red": self.red,
            "checks.checked": sum(1 for v in self.versions if v.check_run_id is not None),
            "freshness.ok": self.fresh,
            "versions": len(self.versions),
        }


def training_data_facts(session: Session, dataset_version_ids: Iterable[str]) -> TrainingDataFacts:
    """Check facts over ``dataset_version_ids`` (a model version's training data)."""
    out = []
    for version_id in sorted(set(dataset_version_ids)):
        row = session.execute(
            select(d.CheckRun.id, d.CheckRunDataset.dataset_id)
            .join(d.CheckRunDataset, d.CheckRunDataset.run_id == d.CheckRun.id)
            .where(d.CheckRunDataset.dataset_version_id == version_id)
            .order_by(d.CheckRun.started_at.desc(), d.CheckRun.id.desc())
            .limit(1)
        ).first()
        if row is None:
            out.append(VersionChecks(version_id, None, None, None))
            continue
        run_id, dataset_id = row
        results = session.execute(
            select(
                d.CheckResult.check,
                d.CheckResult.kind,
                d.CheckResult.status,
                d.CheckResult.severity,
            )
            .where(d.CheckResult.run_id == run_id, d.CheckResult.dataset_id == dataset_id)
            .order_by(d.CheckResult.position)
        ).all()
        failing = tuple(c for c, _, status, sev in results if status in FAILING and sev == "error")
        stale = any(kind in STALE_KINDS and status in FAILING for _, kind, status, _ in results)
        out.append(VersionChecks(version_id, run_id, not failing, not stale, failing))
    return TrainingDataFacts(tuple(out))
