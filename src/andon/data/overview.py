"""Read model for the console's data page: each dataset's latest checks and their trend.

A run passes *for a dataset* when none of that dataset's error-severity checks failed; the
trend is that verdict over the dataset's last runs, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid
from andon.data.records import FAILING
from andon.store.tables import auth as t
from andon.store.tables import data as d


@dataclass(frozen=True)
class CheckLight:
    """One check of the latest run: ``pass``, ``fail`` or ``error``, and its severity."""

    check: str
    status: str
    severity: str

    @property
    def color(self) -> str:
        """green when it passed, amber for a failed warning, red otherwise."""
        if self.status == "pass":
            return "green"
        return "amber" if self.severity == "warning" else "red"


@dataclass(frozen=True)
class TrendPoint:
    """One earlier run as the trend shows it."""

    run_id: str
    started_at: datetime
    passed: bool


@dataclass(frozen=True)
class DatasetOverview:
    """A dataset's latest run (None when never checked), its checks and its trend."""

    dataset: str
    contract: str
    run_id: str | None
    started_at: datetime | None
    contract_version: str | None
    checks: list[CheckLight]
    trend: list[TrendPoint]

    @property
    def color(self) -> str:
        """The dataset's light: red if an error check failed, amber for warnings or never run."""
        if self.run_id is None:
            return "amber"
        colors = {c.color for c in self.checks}
        return "red" if "red" in colors else "amber" if "amber" in colors else "green"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dataset": self.dataset,
            "contract": self.contract,
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "contract_version": self.contract_version,
            "color": self.color,
            "checks": [
                {"check": c.check, "status": c.status, "severity": c.severity} for c in self.checks
            ],
            "trend": [p.passed for p in self.trend],
        }


def _results(session: Session, run_id: str, dataset_id: str) -> list[CheckLight]:
    rows = session.execute(
        select(d.CheckResult.check, d.CheckResult.status, d.CheckResult.severity)
        .where(d.CheckResult.run_id == run_id, d.CheckResult.dataset_id == dataset_id)
        .order_by(d.CheckResult.position)
    ).all()
    return [CheckLight(check, status, severity) for check, status, severity in rows]


def dataset_overview(ctx: Context, *, runs: int = 12) -> list[DatasetOverview]:
    """Every dataset the principal may read, by team and name, with its last ``runs`` runs."""
    if not 1 <= runs <= 100:
        raise Invalid("must be between 1 and 100", field="runs")
    with ctx.db.read() as session:
        ctx.require_somewhere("dataset.read")
        rows = session.execute(
            select(d.Dataset, t.Team.name, d.DataContract.key)
            .join(t.Team, t.Team.id == d.Dataset.team_id)
            .join(d.DataContract, d.DataContract.id == d.Dataset.contract_id)
            .order_by(t.Team.name, d.Dataset.name)
        ).all()
        out = []
        for ds, team, contract in rows:
            if not ctx.can("dataset.read", team_id=ds.team_id, asset_id=ds.asset_id):
                continue
            recent = session.execute(
                select(d.CheckRun, d.DataContractVersion.version)
                .join(d.CheckRunDataset, d.CheckRunDataset.run_id == d.CheckRun.id)
                .join(
                    d.DataContractVersion,
                    d.DataContractVersion.id == d.CheckRun.contract_version_id,
                )
                .where(d.CheckRunDataset.dataset_id == ds.id)
                .order_by(d.CheckRun.started_at.desc(), d.CheckRun.id.desc())
                .limit(runs)
            ).all()
            trend: list[TrendPoint] = []
            lights: list[CheckLight] = []
            for run, _ in reversed(recent):
                lights = _results(session, run.id, ds.id)
                passed = not any(c.status in FAILING and c.severity == "error" for c in lights)
                trend.append(TrendPoint(run.id, as_utc(run.started_at), passed))
            latest = recent[0] if recent else None
            out.append(
                DatasetOverview(
                    f"{team}/{ds.name}",
                    contract,
                    latest[0].id if latest else None,
                    as_utc(latest[0].started_at) if latest else None,
                    latest[1] if latest else None,
                    lights,  # the last computed: the latest run's
                    trend,
                )
            )
        return out
