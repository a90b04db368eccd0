"""Metric functions of the evaluation harness: pure, over numpy arrays, no database.

Quality metrics come from scikit-learn; the bias metrics are written out here (no fairlearn)
so their definitions are the ones ``docs/evaluate.md`` states:

* **demographic parity difference**: ``max_g P(ŷ=1 | A=g) - min_g P(ŷ=1 | A=g)``, the spread
  of the positive-prediction rate across the groups ``g`` of the sensitive attribute ``A``.
* **equalized odds difference**: ``max(TPR spread, FPR spread)`` where a spread is
  ``max_g - min_g`` of the group's true-positive rate ``P(ŷ=1 | y=1, A=g)`` (false-positive
  rate ``P(ŷ=1 | y=0, A=g)``). A group without positives (negatives) has no TPR (FPR) and is
  left out of that spread.

Heavy libraries (numpy, scikit-learn) are imported inside the functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("rmse", "mae")
MAX_SLICE_VALUES = 50
"""At most this many distinct values of one slice column get their own metrics."""


def _finite(value: float) -> float | None:
    """``value`` as a float rounded to 6 decimals, or None when it is NaN or infinite."""
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return None
    return round(number, 6)


def classification(
    y_true: Any, y_pred: Any, y_score: Any | None, wanted: Sequence[str]
) -> dict[str, float | None]:
    """Binary classification metrics (positive class 1) of ``wanted``.

    ``y_score`` is the predicted probability of class 1 (None when the model gives only
    labels: ``roc_auc`` and ``log_loss`` are then None). ``roc_auc`` is None when ``y_true``
    holds a single class, as it is undefined there.
    """
    import numpy as np
    from sklearn import metrics as skm  # type: ignore[import-untyped,unused-ignore]

    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    out: dict[str, float | None] = {}
    for name in wanted:
        value: float | None
        if name == "accuracy":
            value = _finite(skm.accuracy_score(y_true, y_pred))
        elif name == "precision":
            value = _finite(skm.precision_score(y_true, y_pred, zero_division=0))
        elif name == "recall":
            value = _finite(skm.recall_score(y_true, y_pred, zero_division=0))
        elif name == "f1":
            value = _finite(skm.f1_score(y_true, y_pred, zero_division=0))
        elif name == "roc_auc":
            ok = y_score is not None and len(np.unique(y_true)) == 2
            value = _finite(skm.roc_auc_score(y_true, y_score)) if ok else None
        elif name == "log_loss":
            if y_score is None:
                value = None
            else:
                p = np.clip(np.asarray(y_score, dtype=float), 1e-15, 1 - 1e-15)
                value = _finite(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))
        else:
            continue
        out[name] = value
    return out


def regression(y_true: Any, y_pred: Any, wanted: Sequence[str]) -> dict[str, float | None]:
    """Regression metrics of ``wanted``: root mean squared error and mean absolute error."""
    import numpy as np

    err = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    out: dict[str, float | None] = {}
    if "rmse" in wanted:
        out["rmse"] = _finite(np.sqrt(np.mean(err**2))) if err.size else None
    if "mae" in wanted:
        out["mae"] = _finite(np.mean(np.abs(err))) if err.size else None
    return out


def _rate(mask: Any, of: Any) -> float | None:
    """Share of ``of`` rows where ``mask`` holds, None when ``of`` selects no row."""
    n = int(of.sum())
    return float((mask & of).sum()) / n if n else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _spread(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) - min(present) if present else None


def _group_rates(y_true: Any, y_pred: Any, groups: Any) -> dict[str, dict[str, Any]]:
    """Per group of the sensitive attribute: rows, positive rate, TPR and FPR (unrounded)."""
    import numpy as np

    y_true = np.asarray(y_true).astype(int)
    pred = np.asarray(y_pred).astype(int) == 1
    keys = np.asarray(groups).astype(str)
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(set(keys.tolist())):
        g = keys == key
        out[key] = {
            "rows": int(g.sum()),
            "positive_rate": _rate(pred, g),
            "tpr": _rate(pred, g & (y_true == 1)),
            "fpr": _rate(pred, g & (y_true == 0)),
        }
    return out


def group_rates(y_true: Any, y_pred: Any, groups: Any) -> dict[str, dict[str, Any]]:
    """Per group of the sensitive attribute: rows, positive rate, TPR and FPR (6 decimals;
    a rate is None when the group has no row it is taken over)."""
    return {
        key: {k: v if k == "rows" else _rounded(v) for k, v in rates.items()}
        for key, rates in _group_rates(y_true, y_pred, groups).items()
    }


def demographic_parity_diff(y_pred: Any, groups: Any) -> float | None:
    """``max - min`` of the positive-prediction rate across groups (0 = parity)."""
    import numpy as np

    rates = _group_rates(np.zeros(len(y_pred)), y_pred, groups)
    spread = _spread([r["positive_rate"] for r in rates.values()])
    return None if spread is None else _finite(spread)


def equalized_odds_diff(y_true: Any, y_pred: Any, groups: Any) -> float | None:
    """``max(TPR spread, FPR spread)`` across groups (0 = equalized odds)."""
    rates = _group_rates(y_true, y_pred, groups)
    spreads = [
        s
        for s in (
            _spread([r["tpr"] for r in rates.values()]),
            _spread([r["fpr"] for r in rates.values()]),
        )
        if s is not None
    ]
    return _finite(max(spreads)) if spreads else None


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation) of durations, in milliseconds."""
    import numpy as np

    return round(float(np.percentile(np.asarray(seconds, dtype=float), q)) * 1000.0, 4)


def cost_per_1k(
    *,
    usd_per_1k: float | None,
    usd_per_hour: float | None,
    predictions_per_second: float | None,
    latency_p50_ms: float | None,
) -> float | None:
    """USD per 1,000 predictions from the suite's cost model (see ``docs/evaluate.md``).

    Either declared directly (``usd_per_1k``) or derived from the serving instance's price:
    ``usd_per_hour / (throughput * 3600) * 1000``, where the throughput is the declared
    ``predictions_per_second``, else ``1000 / latency_p50_ms`` (one worker, measured).
    """
    if usd_per_1k is not None:
        return round(usd_per_1k, 8)
    if usd_per_hour is None:
        return None
    throughput = predictions_per_second
    if throughput is None and latency_p50_ms:
        throughput = 1000.0 / latency_p50_ms
    if not throughput:
        return None
    return round(usd_per_hour / (throughput * 3600.0) * 1000.0, 8)


def deltas(candidate: dict[str, Any], champion: dict[str, Any]) -> dict[str, float]:
    """Candidate minus champion for every numeric top-level key both have."""
    out: dict[str, float] = {}
    for key, value in candidate.items():
        other = champion.get(key)
        numeric = (
            isinstance(value, int | float)
            and isinstance(other, int | float)
            and not isinstance(value, bool)
            and not isinstance(other, bool)
        )
        if numeric:
            out[key] = round(float(value) - float(other), 6)  # type: ignore[arg-type]
    return out
