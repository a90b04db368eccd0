"""The metric functions against values computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import pytest

from andon.evaluate import metrics as m

# Six rows in two groups of the sensitive attribute.
Y_TRUE = [1, 1, 0, 0, 1, 0]
Y_PRED = [1, 0, 0, 1, 1, 0]
SCORE = [0.9, 0.4, 0.2, 0.6, 0.8, 0.1]
GROUPS = ["a", "a", "a", "b", "b", "b"]


def test_classification_by_hand() -> None:
    # TP = rows 0 and 4, FP = row 3, FN = row 1, TN = rows 2 and 5.
    found = m.classification(Y_TRUE, Y_PRED, SCORE, m.CLASSIFICATION_METRICS)
    assert found["accuracy"] == pytest.approx(4 / 6, abs=1e-6)
    assert found["precision"] == pytest.approx(2 / 3, abs=1e-6)
    assert found["recall"] == pytest.approx(2 / 3, abs=1e-6)
    assert found["f1"] == pytest.approx(2 / 3, abs=1e-6)
    # Of the 9 (positive, negative) score pairs, the positive ranks higher in 8
    # (0.4 loses to 0.6 only).
    assert found["roc_auc"] == pytest.approx(8 / 9, abs=1e-6)
    expected_loss = (
        -sum(math.log(p) if y else math.log(1 - p) for y, p in zip(Y_TRUE, SCORE, strict=True)) / 6
    )
    assert found["log_loss"] == pytest.approx(expected_loss, abs=1e-6)


def test_classification_without_scores_or_with_one_class() -> None:
    labels_only = m.classification(Y_TRUE, Y_PRED, None, ("f1", "roc_auc", "log_loss"))
    assert labels_only == {"f1": pytest.approx(2 / 3, abs=1e-6), "roc_auc": None, "log_loss": None}
    one_class = m.classification([1, 1], [1, 0], [0.9, 0.2], ("roc_auc", "recall"))
    assert one_class == {"roc_auc": None, "recall": 0.5}


def test_regression_by_hand() -> None:
    # Errors 1, 0, 2: MAE = 3/3 = 1, RMSE = sqrt((1 + 0 + 4) / 3).
    found = m.regression([1, 2, 3], [2, 2, 5], m.REGRESSION_METRICS)
    assert found["mae"] == pytest.approx(1.0)
    assert found["rmse"] == pytest.approx(math.sqrt(5 / 3), abs=1e-6)


def test_bias_by_hand() -> None:
    # Group a (rows 0-2): predicts 1 of 3 -> 1/3; TPR 1/2 (rows 0, 1); FPR 0/1 (row 2).
    # Group b (rows 3-5): predicts 2 of 3 -> 2/3; TPR 1/1 (row 4); FPR 1/2 (rows 3, 5).
    assert m.demographic_parity_diff(Y_PRED, GROUPS) == pytest.approx(1 / 3, abs=1e-6)
    # max(TPR spread 1 - 1/2, FPR spread 1/2 - 0) = 0.5
    assert m.equalized_odds_diff(Y_TRUE, Y_PRED, GROUPS) == pytest.approx(0.5)
    rates = m.group_rates(Y_TRUE, Y_PRED, GROUPS)
    assert rates["a"] == {"rows": 3, "positive_rate": 0.333333, "tpr": 0.5, "fpr": 0.0}
    assert rates["b"] == {"rows": 3, "positive_rate": 0.666667, "tpr": 1.0, "fpr": 0.5}


def test_bias_skips_a_rate_a_group_cannot_have() -> None:
    # Group b has no positives: it has no TPR, so only group a's TPR counts (spread 0);
    # FPRs: a has no negatives, b 1/2 -> spread 0. Parity: a 1/2, b 1/2 -> 0.
    y_true, y_pred, groups = [1, 1, 0, 0], [1, 0, 1, 0], ["a", "a", "b", "b"]
    assert m.equalized_odds_diff(y_true, y_pred, groups) == 0.0
    assert m.demographic_parity_diff(y_pred, groups) == 0.0
    assert m.group_rates(y_true, y_pred, groups)["b"]["tpr"] is None
    # A model that predicts only 1 for one group and only 0 for the other: parity gap 1.
    assert m.demographic_parity_diff([1, 1, 0, 0], groups) == 1.0


def test_latency_percentiles_and_cost() -> None:
    # Linear interpolation: the median of 1, 2, 3, 4 ms is 2.5 ms; p95 = 3 + 0.85 = 3.85 ms.
    timings = [0.001, 0.002, 0.003, 0.004]
    assert m.percentile_ms(timings, 50) == pytest.approx(2.5)
    assert m.percentile_ms(timings, 95) == pytest.approx(3.85)
    # 0.36 USD/h at 100 predictions/s: 360,000 predictions per hour -> 0.001 USD per 1,000.
    assert m.cost_per_1k(
        usd_per_1k=None, usd_per_hour=0.36, predictions_per_second=100, latency_p50_ms=None
    ) == pytest.approx(0.001)
    # Undeclared throughput: 1000 / 2 ms = 500 predictions/s -> 0.36 / 1.8e6 * 1000.
    assert m.cost_per_1k(
        usd_per_1k=None, usd_per_hour=0.36, predictions_per_second=None, latency_p50_ms=2.0
    ) == pytest.approx(0.0002)
    assert m.cost_per_1k(
        usd_per_1k=0.05, usd_per_hour=None, predictions_per_second=None, latency_p50_ms=2.0
    ) == pytest.approx(0.05)
    assert (
        m.cost_per_1k(
            usd_per_1k=None, usd_per_hour=0.36, predictions_per_second=None, latency_p50_ms=None
        )
        is None
    )


def test_deltas_cover_numeric_keys_both_have() -> None:
    candidate = {"f1": 0.8, "rows": 10, "task": "classification", "bias": {}, "mae": 1.0}
    champion = {"f1": 0.6, "rows": 10, "task": "classification", "bias": {}, "flag": True}
    assert m.deltas(candidate, champion) == {"f1": pytest.approx(0.2), "rows": 0.0}
