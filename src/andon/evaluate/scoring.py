"""Scoring a loaded model on a feature matrix, and timing it on its serving runtime.

A loaded model is what :func:`andon.registry.service.load_model` returns: an ONNX Runtime
``InferenceSession`` (ONNX), a scikit-learn estimator (skops, or a trusted pickle), or bytes
(an opaque file, which cannot be scored). :class:`Scorer` hides the difference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from andon.core.errors import Invalid


@dataclass(frozen=True)
class Scores:
    """Predictions of one model on every row."""

    predicted: Any  # labels (0/1) for classification, values for regression
    score: Any | None  # P(class 1), when the model gives probabilities


class Scorer:
    """Uniform ``predict`` over ONNX Runtime sessions and scikit-learn estimators."""

    def __init__(self, model: Any, ref: str) -> None:
        self.ref = ref
        self.model = model
        self.onnx = hasattr(model, "get_inputs") and hasattr(model, "run")
        if not self.onnx and not hasattr(model, "predict"):
            raise Invalid(
                f"{ref} is an opaque file: only ONNX and skops (scikit-learn) versions can be "
                "evaluated",
                field="model",
            )

    def expected_features(self) -> int | None:
        """How many input columns the model takes, when it says."""
        if self.onnx:
            inputs = self.model.get_inputs()
            if len(inputs) != 1:
                raise Invalid(
                    f"{self.ref} takes {len(inputs)} inputs; the harness feeds one matrix",
                    field="model",
                )
            shape = inputs[0].shape
            width = shape[1] if len(shape) == 2 else None
            return width if isinstance(width, int) else None
        n = getattr(self.model, "n_features_in_", None)
        return int(n) if n is not None else None

    def check_width(self, n_features: int) -> None:
        """Invalid when the suite's feature count differs from what the model takes."""
        width = self.expected_features()
        if width is not None and width != n_features:
            raise Invalid(
                f"{self.ref} takes {width} features but the suite lists {n_features}",
                field="features",
            )

    def _raw(self, X: Any) -> tuple[Any, Any | None]:
        """(labels or values, class-1 probability or None) for the rows of ``X``."""
        import numpy as np

        if self.onnx:
            name = self.model.get_inputs()[0].name
            outputs = self.model.run(None, {name: X})
            labels, proba = None, None
            for out in outputs:
                arr = np.asarray(out) if not isinstance(out, list) else None
                if arr is None:  # a ZipMap output (list of dicts): read P(1) from it
                    proba = np.asarray([float(row.get(1, row.get("1", 0.0))) for row in out])
                elif arr.ndim == 2 and arr.shape[1] == 2 and arr.dtype.kind == "f":
                    proba = arr[:, 1]
                elif labels is None:
                    labels = arr.reshape(len(X), -1)[:, 0]
            return labels, proba
        proba = None
        if hasattr(self.model, "predict_proba"):
            classes = [c.item() if hasattr(c, "item") else c for c in self.model.classes_]
            if 1 in classes and len(classes) == 2:
                proba = np.asarray(self.model.predict_proba(X))[:, classes.index(1)]
        labels = None if proba is not None else np.asarray(self.model.predict(X))
        return labels, proba

    def predict(self, X: Any, *, task: str, threshold: float) -> Scores:
        """Predictions for every row of ``X`` (float32)."""
        import numpy as np

        try:
            labels, proba = self._raw(X)
        except Invalid:
            raise
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise Invalid(
                f"{self.ref} failed to score the rows: {type(exc).__name__}: {first[:200]}",
                field="model",
            ) from None
        if task == "regression":
            values = labels if labels is not None else proba
            return Scores(np.asarray(values, dtype=float).ravel(), None)
        if proba is not None:
            return Scores((np.asarray(proba) >= threshold).astype(int), np.asarray(proba))
        return Scores(np.asarray(labels).astype(int), None)

    def time_single_rows(self, X: Any, n: int) -> list[float]:
        """Seconds each of ``n`` single-row predictions took (rows cycled), after a warm-up."""
        rows = len(X)
        if n <= 0 or rows == 0:
            return []
        for i in range(min(5, n)):  # warm-up: first calls allocate
            self._raw(X[i % rows : i % rows + 1])
        timings = []
        clock = time.perf_counter
        for i in range(n):
            row = X[i % rows : i % rows + 1]
            start = clock()
            self._raw(row)
            timings.append(clock() - start)
        return timings
