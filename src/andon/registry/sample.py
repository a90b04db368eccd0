"""The sample line's training template: a fraud model, a baseline and two challengers.

Generates a small synthetic card-fraud table in numpy (no downloads, seeded) with a sensitive
attribute, ``age_band``, and writes it as two real data-domain datasets of team ``team``:
``fraud_train`` (75 %) and ``fraud_holdout`` (25 %), Parquet files described by a small ODCS
contract that is applied and checked, then snapshotted with a materialized copy. It then
trains

* ``baseline``: logistic regression on scaled features (becomes ``champion``);
* ``challenger-a``: gradient boosting on the true labels: better F1, and fair (the fraud
  signal does not depend on the age band);
* ``challenger-b``: the same boosting trained on *legacy labels*, where past reviews flagged
  one age band (``18-29``) more often. It learns the proxy (``app_sessions``, high for that
  band) and flags that band far more often: demographic parity difference well above 0.1.

Each is a tracked run (params, stepped metrics, ONNX and skops artifacts, the training
dataset version) and a registered ONNX version of ``fraud-detector``; ``champion`` points at
the baseline, ``challenger`` at ``challenger-a``. The evaluation suite
(``fraud-suite.yaml``, scoring the holdout, bias over ``age_band``) is written next to the
data for ``andon eval run``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from andon.auth.queries import team_by_name
from andon.core.context import Context
from andon.data import service as data
from andon.registry import service
from andon.registry.formats import FEATURE_NAMES_KEY
from andon.registry.runs import start_run
from andon.store.lookups import stage_of_alias

MODEL = "fraud-detector"
FEATURES = ("amount", "hour", "distance_km", "tx_last_24h", "merchant_risk", "app_sessions")
LABEL = "is_fraud"
SENSITIVE = "age_band"
AGE_BANDS = ("18-29", "30-59", "60+")
CONTRACT_ID = "sample-fraud"
TRAIN, HOLDOUT = "fraud_train", "fraud_holdout"
SUITE_FILE = "fraud-suite.yaml"
SEED = 7


@dataclass
class TrainResult:
    """What the sample line trained and registered."""

    dataset_version: str
    holdout_version: str = ""
    suite: Path | None = None
    checks_passed: bool = False
    runs: dict[str, str] = field(default_factory=dict)
    f1: dict[str, float] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    champion: str = ""

    def lines(self) -> list[str]:
        """One line per model for a person."""
        checks = "checks passed" if self.checks_passed else "[red]checks failed[/]"
        out = [f"training data {self.dataset_version}, holdout {self.holdout_version} ({checks})"]
        for name in self.runs:
            alias = "[bold]champion[/]" if name == self.champion else "candidate"
            out.append(f"{name}: f1 {self.f1[name]:.3f} -> {MODEL}@{self.versions[name]} ({alias})")
        if not self.champion:
            out.append("aliases left as they are: a stage policy moves them (andon model promote)")
        if self.suite is not None:
            out.append(f"evaluation suite {self.suite}")
        return out


def make_data(n: int = 4000, seed: int = SEED) -> dict[str, Any]:
    """Synthetic transactions: the :data:`FEATURES` (float32), ``age_band`` and ``is_fraud``.

    Fraud depends on amount, night hours, distance, recent activity and merchant risk, never
    on the age band; ``app_sessions`` is higher in the ``18-29`` band and carries no signal.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.5, 1.0, n)
    hour = rng.integers(0, 24, n).astype(float)
    distance = rng.exponential(20.0, n)
    recent = rng.poisson(2.0, n).astype(float)
    merchant = rng.beta(2, 8, n)
    band = rng.choice(np.array(AGE_BANDS), n, p=[0.3, 0.5, 0.2])
    young = band == AGE_BANDS[0]
    sessions = np.where(young, rng.normal(14, 3, n), rng.normal(6, 2.5, n)).clip(0)
    night = ((hour < 5) | (hour > 22)).astype(float)
    logit = -5.0 + 0.012 * amount + 2.5 * night + 0.03 * distance + 0.25 * recent + 4.0 * merchant
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    # Legacy review labels: the true ones, plus 30 % of the 18-29 band flagged regardless.
    legacy = (y | (young & (rng.random(n) < 0.3))).astype(np.int64)
    columns = [amount, hour, distance, recent, merchant, sessions]
    out: dict[str, Any] = {
        name: np.asarray(col, dtype=np.float32) for name, col in zip(FEATURES, columns, strict=True)
    }
    out[SENSITIVE] = band
    out[LABEL] = y
    out["legacy_label"] = legacy
    return out


def _contract_yaml() -> str:
    def table(name: str, purpose: str) -> str:
        props = "".join(
            f"      - {{name: {f}, logicalType: number, required: true}}\n" for f in FEATURES
        )
        return (
            f"  - name: {name}\n"
            f"    description: '{purpose}'\n"
            f"    quality: [{{metric: rowCount, mustBeGreaterThan: 0}}]\n"
            f"    properties:\n{props}"
            f"      - name: {SENSITIVE}\n"
            "        logicalType: string\n"
            "        classification: sensitive\n"
            f"        quality: [{{metric: invalidValues, validValues: {list(AGE_BANDS)}}}]\n"
            f"      - name: {LABEL}\n"
            "        logicalType: integer\n"
            "        required: true\n"
            "        quality: [{metric: invalidValues, validValues: [0, 1]}]\n"
        )

    return (
        "# ODCS v3 contract for the andon fraud sample (andon model demo-train).\n"
        "apiVersion: v3.0.2\nkind: DataContract\n"
        f"id: {CONTRACT_ID}\nname: Sample card transactions\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: local, type: parquet, path: .}]\nschema:\n"
        + table(TRAIN, "Training rows (75 %) of the synthetic card transactions.")
        + table(HOLDOUT, "Holdout rows (25 %), what evaluations score.")
    )


def suite_yaml(team: str) -> str:
    """The sample evaluation suite: the holdout, bias over ``age_band``, latency and cost."""
    features = ", ".join(FEATURES)
    return (
        "# Evaluation suite of the fraud sample (andon eval run fraud-detector@2 --suite ...).\n"
        "name: fraud-holdout\n"
        "description: Quality, fairness over age bands, latency and cost on the holdout.\n"
        f"dataset: {team}/{HOLDOUT}\n"
        f"label: {LABEL}\n"
        f"features: [{features}]\n"
        "task: classification\n"
        "threshold: 0.5\n"
        "metrics: [accuracy, precision, recall, f1, roc_auc, log_loss]\n"
        f"slices: [{SENSITIVE}]\n"
        f"sensitive_attribute: {SENSITIVE}\n"
        "latency: {predictions: 200}\n"
        "cost: {usd_per_hour: 0.10, predictions_per_second: 50}\n"
    )


def write_data(folder: Path, *, n: int = 4000, seed: int = SEED) -> Path:
    """Write the train and holdout Parquet files and their contract; returns the contract."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    columns = make_data(n, seed)
    split = int(n * 0.75)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in ((TRAIN, slice(0, split)), (HOLDOUT, slice(split, n))):
        table = pa.table({k: v[rows] for k, v in columns.items() if k != "legacy_label"})
        pq.write_table(table, folder / f"{name}.parquet", compression="zstd")
    contract = folder / "fraud.odcs.yaml"
    contract.write_text(_contract_yaml(), encoding="utf-8")
    return contract


def _candidates() -> dict[str, tuple[Any, str, dict[str, Any]]]:
    """name -> (estimator, label column to train on, params to log)."""
    from sklearn.ensemble import GradientBoostingClassifier  # type: ignore[import-untyped,unused-ignore]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped,unused-ignore]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped,unused-ignore]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped,unused-ignore]

    def boosting() -> Any:
        return GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=0)

    return {
        "baseline": (
            make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500)),
            LABEL,
            {"algorithm": "logistic_regression", "C": 1.0, "scaled": True},
        ),
        "challenger-a": (
            boosting(),
            LABEL,
            {"algorithm": "gradient_boosting", "n_estimators": 60, "max_depth": 3},
        ),
        "challenger-b": (
            boosting(),
            "legacy_label",
            {
                "algorithm": "gradient_boosting",
                "n_estimators": 60,
                "max_depth": 3,
                "labels": "legacy reviews",
            },
        ),
    }


def train(ctx: Context, *, team: str, workdir: Path | None = None) -> TrainResult:
    """Write and version the data, train, log, register and alias the sample models.

    ``workdir`` keeps the data, contract and suite (the contract's files must stay where it
    was applied for later check runs); without it a temporary folder is used.
    """
    if workdir is not None:
        return _train(ctx, team, Path(workdir))
    with tempfile.TemporaryDirectory() as tmp:
        return _train(ctx, team, Path(tmp))


def _train(ctx: Context, team: str, folder: Path) -> TrainResult:
    import numpy as np
    import skops.io as sio  # type: ignore[import-untyped,unused-ignore]
    from skl2onnx import to_onnx  # type: ignore[import-untyped,unused-ignore]
    from sklearn.metrics import f1_score, precision_score, recall_score  # type: ignore[import-untyped,unused-ignore]

    contract = write_data(folder)
    data.apply_contract(ctx, contract, team, reason="sample line")
    checked = data.run_checks(ctx, str(contract), reason="sample line")
    train_version = data.snapshot_dataset(ctx, f"{team}/{TRAIN}", materialize=True).id
    holdout_version = data.snapshot_dataset(ctx, f"{team}/{HOLDOUT}", materialize=True).id
    suite = folder / SUITE_FILE
    suite.write_text(suite_yaml(team), encoding="utf-8")
    columns = make_data()
    split = len(columns[LABEL]) * 3 // 4
    X = np.column_stack([columns[f] for f in FEATURES]).astype(np.float32)
    Xtr, Xte, yte = X[:split], X[split:], columns[LABEL][split:]
    result = TrainResult(train_version, holdout_version, suite, checks_passed=checked.passed)
    models = folder / "models"
    models.mkdir(exist_ok=True)
    for name, (model, label, params) in _candidates().items():
        ytr = columns[label][:split]
        with start_run(f"{MODEL}-{name}", team=team, ctx=ctx) as run:
            run.use_dataset(train_version)
            run.log_params({**params, "model": name, "rows": split, "seed": SEED})
            # Stepped metrics: F1 on the holdout as the training set grows.
            for step, share in enumerate((0.25, 0.5, 1.0)):
                rows = int(split * share)
                model.fit(Xtr[:rows], ytr[:rows])
                run.log_metrics({"f1": float(f1_score(yte, model.predict(Xte)))}, step=step)
            predicted = model.predict(Xte)
            f1 = float(f1_score(yte, predicted))
            run.log_metrics(
                {
                    "precision": float(precision_score(yte, predicted, zero_division=0)),
                    "recall": float(recall_score(yte, predicted)),
                }
            )
            onnx_path = models / f"{name}.onnx"
            onnx_model = to_onnx(model, Xtr[:1], target_opset=17, options={"zipmap": False})
            # The matrix's column names, so the gateway takes rows keyed by feature.
            onnx_model.metadata_props.add(key=FEATURE_NAMES_KEY, value=json.dumps(FEATURES))
            onnx_path.write_bytes(onnx_model.SerializeToString())
            skops_path = models / f"{name}.skops"
            sio.dump(model, skops_path)
            run.log_artifact(onnx_path)
            run.log_artifact(skops_path)
        version = service.register_model(
            ctx, MODEL, team=team, artifact=onnx_path, run=run.id, reason="sample line"
        )
        result.runs[name] = run.id
        result.f1[name] = f1
        result.versions[name] = version.version
    # Crown the baseline, unless a stage policy already governs these aliases (a re-run of the
    # sample after `andon policy apply`): then only promotion may move them.
    with ctx.db.read() as session:
        team_id = team_by_name(session, team).id
        governed = {
            alias
            for alias in ("champion", "challenger")
            if stage_of_alias(session, team_id, MODEL, alias) is not None
        }
    for alias, name in (("champion", "baseline"), ("challenger", "challenger-a")):
        if alias not in governed:
            ref = f"{MODEL}@{result.versions[name]}"
            service.set_alias(ctx, ref, alias, reason=f"sample {name}")
    result.champion = "" if "champion" in governed else "baseline"
    return result
