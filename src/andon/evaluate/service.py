"""The evaluation harness's door: run a suite on a model version, read evaluations back.

:func:`run_evaluation` works in three steps, so no database lock is held while models score:

1. a read: check ``eval.run`` on the model's asset, resolve the version, its ``champion``
   and the dataset version (the newest of the suite's dataset unless one is given);
2. the work: read the dataset version's Parquet copy (``dataset.read``, digest verified),
   load the candidate and the champion through :func:`andon.registry.service.load_model`
   (``model.read``, digest verified), score both, time the candidate on its runtime;
3. one write transaction: the evaluation row, lineage edges (dataset version and model
   version ``-input->`` evaluation), the audit entry and the ``evaluation.completed`` event.

Any error in steps 1 and 2 (a bad suite, a missing column, an unknown model, a model that
cannot score the rows, a tampered artifact) raises before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid, NotFound
from andon.core.ids import new_id
from andon.data import service as datasets
from andon.evaluate import metrics as m
from andon.evaluate.records import EvaluationRecord
from andon.evaluate.scoring import Scorer
from andon.evaluate.suite import Suite, read_suite
from andon.lineage.service import link
from andon.registry import service as registry
from andon.store.tables import auth as t
from andon.store.tables import evaluate as e
from andon.store.tables import registry as r

CHAMPION = "champion"


@dataclass(frozen=True)
class _Target:
    model_id: str
    team_id: str
    asset_id: str
    team: str
    name: str
    version_id: str
    version: int
    champion_id: str | None
    champion: int | None

    @property
    def ref(self) -> str:
        return f"{self.team}/{self.name}@{self.version}"


def _resolve(session: Session, ctx: Context, ref: str) -> _Target:
    """The model version ``ref`` names and the model's champion, after the ``eval.run`` check."""
    parsed = registry.parse_ref(ref)
    if parsed.version is None and parsed.alias is None:
        raise Invalid(f"'{ref}' must name a version: NAME@VERSION or NAME@ALIAS", field="model")
    stmt = select(r.Model, t.Team.name).join(t.Team, t.Team.id == r.Model.team_id)
    stmt = stmt.where(r.Model.name == parsed.name)
    if parsed.team:
        stmt = stmt.where(t.Team.name == parsed.team)
    rows = session.execute(stmt).all()
    if not rows:
        where = f" in team '{parsed.team}'" if parsed.team else ""
        raise NotFound(f"no model named '{parsed.name}'{where}", field="model")
    if len(rows) > 1:
        raise Invalid(
            f"several teams have a model named '{parsed.name}': write TEAM/{parsed.name}",
            field="model",
        )
    model, team = rows[0]
    ctx.require("eval.run", team_id=model.team_id, asset_id=model.asset_id)
    aliases = dict(
        session.execute(
            select(r.ModelAlias.alias, r.ModelAlias.version).where(
                r.ModelAlias.model_id == model.id
            )
        ).all()
    )
    number = parsed.version
    if parsed.alias is not None:
        number = aliases.get(parsed.alias)
        if number is None:
            raise NotFound(f"model '{model.name}' has no alias '{parsed.alias}'", field="model")
    versions = dict(
        session.execute(
            select(r.ModelVersion.version, r.ModelVersion.id).where(
                r.ModelVersion.model_id == model.id,
                r.ModelVersion.version.in_([number, aliases.get(CHAMPION, -1)]),
            )
        ).all()
    )
    if number not in versions:
        raise NotFound(f"model '{model.name}' has no version {number}", field="model")
    champion = aliases.get(CHAMPION)
    if champion == number or champion not in versions:
        champion = None
    return _Target(
        model.id,
        model.team_id,
        model.asset_id,
        str(team),
        model.name,
        versions[number],
        int(number),
        versions[champion] if champion is not None else None,
        champion,
    )


# --------------------------------------------------------------------------- the work


@dataclass(frozen=True)
class _Data:
    X: Any
    y: Any
    columns: dict[str, Any]  # slice / sensitive columns as text


def _prepare(suite: Suite, table: Any) -> _Data:
    """Feature matrix (float32), labels and the grouping columns of the dataset version."""
    import numpy as np
    import pyarrow as pa

    problems = []
    for name in [suite.label, *suite.features]:
        column = table.column(name)
        if column.null_count:
            problems.append(f"column '{name}' has {column.null_count} null values")
        kind = column.type
        if not (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
        ):
            problems.append(f"column '{name}' is {kind}, not numeric")
    if problems:
        raise Invalid("cannot score this dataset version: " + "; ".join(problems), field="columns")
    X = np.column_stack(
        [table.column(f).to_numpy(zero_copy_only=False).astype(np.float32) for f in suite.features]
    )
    y = table.column(suite.label).to_numpy(zero_copy_only=False)
    if suite.task == "classification":
        values = set(np.unique(y.astype(float)).tolist())
        if not values <= {0.0, 1.0}:
            shown = ", ".join(str(v) for v in sorted(values)[:5])
            raise Invalid(
                f"label column '{suite.label}' must hold 0/1 (or true/false) for binary "
                f"classification; it holds {shown}",
                field="label",
            )
        y = y.astype(int)
    else:
        y = y.astype(float)
    groups = {}
    for name in dict.fromkeys([*suite.slices, suite.sensitive_attribute or ""]):
        if name:
            groups[name] = np.asarray(
                ["null" if v is None else str(v) for v in table.column(name).to_pylist()]
            )
    return _Data(X, y, groups)


def _quality(suite: Suite, y: Any, predicted: Any, score: Any | None) -> dict[str, Any]:
    if suite.task == "classification":
        found = m.classification(y, predicted, score, suite.metrics)
    else:
        found = m.regression(y, predicted, suite.metrics)
    return {k: v for k, v in found.items() if v is not None}


def _slices(suite: Suite, data: _Data, predicted: Any, score: Any | None) -> dict[str, Any]:
    import numpy as np

    out: dict[str, Any] = {}
    for column in suite.slices:
        keys = data.columns[column]
        values, counts = np.unique(keys, return_counts=True)
        ranked = sorted(zip(values.tolist(), counts.tolist(), strict=True), key=lambda p: -p[1])
        for value, count in sorted(ranked[: m.MAX_SLICE_VALUES]):
            mask = keys == value
            found = _quality(
                suite, data.y[mask], predicted[mask], None if score is None else score[mask]
            )
            if suite.task == "classification":
                found["positive_rate"] = round(float(predicted[mask].mean()), 6)
            out[f"{column}={value}"] = {"rows": int(count), **found}
    return out


def _metrics(suite: Suite, data: _Data, scorer: Scorer, *, timed: bool) -> dict[str, Any]:
    """The metrics of one model, in the shape :mod:`andon.evaluate.facts` documents."""
    scorer.check_width(len(suite.features))
    scores = scorer.predict(data.X, task=suite.task, threshold=suite.threshold)
    found: dict[str, Any] = {"rows": len(data.y), "task": suite.task}
    found.update(_quality(suite, data.y, scores.predicted, scores.score))
    if timed and suite.latency_predictions:
        timings = scorer.time_single_rows(data.X, suite.latency_predictions)
        found["latency_p50_ms"] = m.percentile_ms(timings, 50)
        found["latency_p95_ms"] = m.percentile_ms(timings, 95)
        found["latency_predictions"] = len(timings)
    if suite.cost is not None:
        cost = m.cost_per_1k(
            usd_per_1k=suite.cost.usd_per_1k,
            usd_per_hour=suite.cost.usd_per_hour,
            predictions_per_second=suite.cost.predictions_per_second,
            latency_p50_ms=found.get("latency_p50_ms"),
        )
        if cost is not None:
            found["cost_per_1k"] = cost
    if suite.sensitive_attribute:
        groups = data.columns[suite.sensitive_attribute]
        found["bias"] = {
            "attribute": suite.sensitive_attribute,
            "demographic_parity_diff": m.demographic_parity_diff(scores.predicted, groups),
            "equalized_odds_diff": m.equalized_odds_diff(data.y, scores.predicted, groups),
            "groups": m.group_rates(data.y, scores.predicted, groups),
        }
    if suite.slices:
        found["slices"] = _slices(suite, data, scores.predicted, scores.score)
    return found


# --------------------------------------------------------------------------- the door


def run_evaluation(
    ctx: Context,
    ref: str,
    suite: Suite | Path | str,
    *,
    dataset_version: str | None = None,
    reason: str = "",
) -> EvaluationRecord:
    """Score the version ``ref`` names (and the model's champion) with ``suite``; store it.

    ``suite`` is a parsed :class:`Suite` or the path of a suite YAML file. The dataset
    version defaults to the newest version of the suite's dataset.
    """
    parsed = suite if isinstance(suite, Suite) else read_suite(Path(suite))
    with ctx.db.read() as session:
        target = _resolve(session, ctx, ref)
    version = (
        datasets.get_version(ctx, dataset_version)
        if dataset_version
        else datasets.latest_version(ctx, parsed.dataset)
    )
    named = parsed.dataset if "/" in parsed.dataset else f"{version.team}/{parsed.dataset}"
    if f"{version.team}/{version.dataset}" != named:
        raise Invalid(
            f"dataset version {version.id} is of {version.team}/{version.dataset}, "
            f"but the suite evaluates {parsed.dataset}",
            field="dataset_version",
        )
    data = _prepare(parsed, datasets.read_version(ctx, version.id, parsed.columns))
    candidate = Scorer(registry.load_model(ctx, target.ref), target.ref)
    found = _metrics(parsed, data, candidate, timed=True)
    champion_metrics: dict[str, Any] | None = None
    if target.champion is not None:
        champion_ref = f"{target.team}/{target.name}@{target.champion}"
        champion = Scorer(registry.load_model(ctx, champion_ref), champion_ref)
        champion_metrics = _metrics(parsed, data, champion, timed=True)
    deltas = m.deltas(found, champion_metrics) if champion_metrics is not None else {}
    suite_doc = {**parsed.as_dict(), "dataset": named}
    with ctx.db.transaction() as session:
        ctx.require("eval.run", team_id=target.team_id, asset_id=target.asset_id)
        now = ctx.clock.now()
        row = e.Evaluation(
            id=new_id("evaluation"),
            model_version_id=target.version_id,
            champion_version_id=target.champion_id,
            dataset_version_id=version.id,
            suite_name=parsed.name,
            suite=suite_doc,
            metrics=found,
            champion_metrics=champion_metrics,
            deltas=deltas,
            created_by=ctx.principal.name,
            created_at=now,
        )
        session.add(row)
        session.flush()
        for src, kind in ((version.id, "dataset_version"), (target.version_id, "model_version")):
            link(
                session,
                src_id=src,
                src_kind=kind,
                dst_id=row.id,
                dst_kind="evaluation",
                relation="input",
                at=now,
            )
        summary: dict[str, Any] = {
            k: found[k] for k in ("f1", "rmse", "latency_p95_ms") if k in found
        }
        if "bias" in found:
            summary["demographic_parity_diff"] = found["bias"]["demographic_parity_diff"]
        record_change(
            session,
            ctx,
            action="eval.run",
            object_id=row.id,
            change={
                "model": f"{target.team}/{target.name}",
                "version": target.version,
                "champion": target.champion,
                "dataset_version": version.id,
                "suite": parsed.name,
                "metrics": summary,
                "deltas": {k: deltas[k] for k in summary if k in deltas},
            },
            reason=reason,
            event="evaluation.completed",
        )
        return _record(row, target.name, target.team, target.version, target.champion)


def _record(
    row: e.Evaluation, model: str, team: str, version: int, champion: int | None
) -> EvaluationRecord:
    return EvaluationRecord(
        id=row.id,
        model=model,
        team=team,
        version=version,
        model_version_id=row.model_version_id,
        champion_version=champion,
        champion_version_id=row.champion_version_id,
        dataset=str(row.suite.get("dataset", "")),
        dataset_version_id=row.dataset_version_id,
        suite_name=row.suite_name,
        suite=dict(row.suite),
        metrics=dict(row.metrics),
        champion_metrics=dict(row.champion_metrics) if row.champion_metrics is not None else None,
        deltas=dict(row.deltas),
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
    )


def _records(session: Session, rows: Sequence[e.Evaluation]) -> list[EvaluationRecord]:
    """Records for evaluation rows, with model names and version numbers in one query."""
    ids = {row.model_version_id for row in rows} | {
        row.champion_version_id for row in rows if row.champion_version_id
    }
    numbers = {
        vid: (name, team, number)
        for vid, name, team, number in session.execute(
            select(r.ModelVersion.id, r.Model.name, t.Team.name, r.ModelVersion.version)
            .join(r.Model, r.Model.id == r.ModelVersion.model_id)
            .join(t.Team, t.Team.id == r.Model.team_id)
            .where(r.ModelVersion.id.in_(ids))
        )
    }
    out = []
    for row in rows:
        name, team, number = numbers[row.model_version_id]
        champion = numbers[row.champion_version_id][2] if row.champion_version_id else None
        out.append(_record(row, name, team, number, champion))
    return out


def get_evaluation(ctx: Context, evaluation_id: str) -> EvaluationRecord:
    """One evaluation by id (``model.read`` on the evaluated model)."""
    with ctx.db.read() as session:
        row = session.get(e.Evaluation, evaluation_id)
        if row is None:
            raise NotFound(f"no evaluation '{evaluation_id}'", field="evaluation")
        model = session.scalar(
            select(r.Model)
            .join(r.ModelVersion, r.ModelVersion.model_id == r.Model.id)
            .where(r.ModelVersion.id == row.model_version_id)
        )
        assert model is not None
        ctx.require("model.read", team_id=model.team_id, asset_id=model.asset_id)
        return _records(session, [row])[0]


def list_evaluations(ctx: Context, ref: str, *, limit: int = 100) -> list[EvaluationRecord]:
    """Evaluations of a model (``NAME``) or of one version (``NAME@VERSION``), newest first."""
    if not 1 <= limit <= 10_000:
        raise Invalid("must be between 1 and 10000", field="limit")
    parsed = registry.parse_ref(ref)
    with ctx.db.read() as session:
        stmt = select(r.Model).where(r.Model.name == parsed.name)
        if parsed.team:
            stmt = stmt.join(t.Team, t.Team.id == r.Model.team_id).where(t.Team.name == parsed.team)
        models = list(session.scalars(stmt))
        if not models:
            raise NotFound(f"no model named '{parsed.name}'", field="model")
        if len(models) > 1:
            raise Invalid(
                f"several teams have a model named '{parsed.name}': write TEAM/{parsed.name}",
                field="model",
            )
        model = models[0]
        ctx.require("model.read", team_id=model.team_id, asset_id=model.asset_id)
        query = (
            select(e.Evaluation)
            .join(r.ModelVersion, r.ModelVersion.id == e.Evaluation.model_version_id)
            .where(r.ModelVersion.model_id == model.id)
        )
        if parsed.version is not None or parsed.alias is not None:
            number = parsed.version
            if parsed.alias is not None:
                number = session.scalar(
                    select(r.ModelAlias.version).where(
                        r.ModelAlias.model_id == model.id, r.ModelAlias.alias == parsed.alias
                    )
                )
                if number is None:
                    raise NotFound(
                        f"model '{model.name}' has no alias '{parsed.alias}'", field="model"
                    )
            query = query.where(r.ModelVersion.version == number)
        rows = session.scalars(
            query.order_by(e.Evaluation.created_at.desc(), e.Evaluation.id.desc()).limit(limit)
        ).all()
        return _records(session, rows)
