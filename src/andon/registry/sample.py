"""The sample line's training template: a fraud model, a baseline and a challenger.

Generates a small synthetic card-fraud dataset in numpy (no downloads, seeded), trains a
baseline ``LogisticRegression`` on three raw features and a challenger (scaled features, all
five, class-balanced), logs a run for each (params, stepped metrics, artifacts, the dataset
fingerprint), exports each model to ONNX (skl2onnx) and skops, registers the ONNX versions of
``fraud-detector`` and points ``champion`` at the one with the better F1 (``challenger`` at
the other).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from andon.core.context import Context
from andon.registry import service
from andon.registry.runs import start_run

MODEL = "fraud-detector"
FEATURES = ("amount", "hour", "distance_km", "tx_last_24h", "merchant_risk")


@dataclass
class TrainResult:
    """What the sample line trained and registered."""

    dataset_version: str
    runs: dict[str, str] = field(default_factory=dict)
    f1: dict[str, float] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    champion: str = ""

    def lines(self) -> list[str]:
        """One line per model for a person."""
        out = [f"sample data {self.dataset_version}"]
        for name in self.runs:
            alias = "[bold]champion[/]" if name == self.champion else "challenger"
            out.append(f"{name}: f1 {self.f1[name]:.3f} -> {MODEL}@{self.versions[name]} ({alias})")
        return out


def make_data(n: int = 4000, seed: int = 7) -> tuple[Any, Any]:
    """Synthetic transactions ``X`` (float32, columns :data:`FEATURES`) and fraud labels ``y``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.5, 1.0, n)
    hour = rng.integers(0, 24, n).astype(float)
    distance = rng.exponential(20.0, n)
    recent = rng.poisson(2.0, n).astype(float)
    merchant = rng.beta(2, 8, n)
    night = ((hour < 5) | (hour > 22)).astype(float)
    logit = -5.0 + 0.012 * amount + 1.2 * night + 0.02 * distance + 0.25 * recent + 4.0 * merchant
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = np.column_stack([amount, hour, distance, recent, merchant]).astype(np.float32)
    return X, y


def fingerprint(X: Any, y: Any) -> str:
    """A content id for the generated data (stands in for a data-domain dataset version)."""
    digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    return f"dsv:sample-fraud:{digest[:16]}"


def _candidates() -> dict[str, tuple[Any, list[int], dict[str, Any]]]:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped,unused-ignore]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped,unused-ignore]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped,unused-ignore]

    return {
        "baseline": (LogisticRegression(max_iter=200), [0, 1, 2], {"C": 1.0, "features": 3}),
        "challenger": (
            make_pipeline(
                StandardScaler(), LogisticRegression(C=0.5, class_weight="balanced", max_iter=500)
            ),
            [0, 1, 2, 3, 4],
            {"C": 0.5, "features": 5, "class_weight": "balanced", "scaled": True},
        ),
    }


def train(ctx: Context, *, team: str, workdir: Path | None = None) -> TrainResult:
    """Train, log, register and alias the sample models; returns what happened."""
    with tempfile.TemporaryDirectory() as tmp:
        return _train(ctx, team, Path(workdir) if workdir else Path(tmp))


def _train(ctx: Context, team: str, folder: Path) -> TrainResult:
    import skops.io as sio  # type: ignore[import-untyped,unused-ignore]
    from skl2onnx import to_onnx  # type: ignore[import-untyped,unused-ignore]
    from sklearn.metrics import f1_score, precision_score, recall_score  # type: ignore[import-untyped,unused-ignore]

    X, y = make_data()
    split = int(len(y) * 0.75)
    dataset = fingerprint(X, y)
    result = TrainResult(dataset)
    for name, (model, columns, params) in _candidates().items():
        with start_run(f"{MODEL}-{name}", team=team, ctx=ctx) as run:
            run.use_dataset(dataset)
            run.log_params({**params, "model": name, "rows": len(y), "seed": 7})
            Xtr, Xte = X[:split, columns], X[split:, columns]
            # Stepped metrics: F1 on the holdout as the training set grows.
            for step, share in enumerate((0.25, 0.5, 1.0)):
                rows = int(split * share)
                model.fit(Xtr[:rows], y[:rows])
                run.log_metrics({"f1": float(f1_score(y[split:], model.predict(Xte)))}, step=step)
            predicted = model.predict(Xte)
            f1 = float(f1_score(y[split:], predicted))
            run.log_metrics(
                {
                    "precision": float(precision_score(y[split:], predicted, zero_division=0)),
                    "recall": float(recall_score(y[split:], predicted)),
                }
            )
            onnx_path = folder / f"{name}.onnx"
            onnx_model = to_onnx(model, Xtr[:1], target_opset=17, options={"zipmap": False})
            onnx_path.write_bytes(onnx_model.SerializeToString())
            skops_path = folder / f"{name}.skops"
            sio.dump(model, skops_path)
            run.log_artifact(onnx_path)
            run.log_artifact(skops_path)
        version = service.register_model(
            ctx, MODEL, team=team, artifact=onnx_path, run=run.id, reason="sample line"
        )
        result.runs[name] = run.id
        result.f1[name] = f1
        result.versions[name] = version.version
    best = max(result.f1, key=result.f1.__getitem__)
    other = next(n for n in result.f1 if n != best)
    service.set_alias(ctx, f"{MODEL}@{result.versions[best]}", "champion", reason="best F1")
    service.set_alias(ctx, f"{MODEL}@{result.versions[other]}", "challenger", reason="sample")
    result.champion = best
    return result
