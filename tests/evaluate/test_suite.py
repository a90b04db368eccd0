"""Suite parsing: a valid suite, and every problem of a bad one at once, with its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.core.errors import Invalid, NotFound
from andon.evaluate.suite import DEFAULT_LATENCY_PREDICTIONS, parse_suite, read_suite
from tests.evaluate.conftest import suite_text


def test_a_valid_suite() -> None:
    suite = parse_suite(suite_text())
    assert suite.dataset == "fraud-ml/fraud_holdout" and suite.task == "classification"
    assert suite.metrics == ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
    assert suite.columns[0] == "is_fraud" and suite.columns[-1] == "age_band"
    assert len(suite.columns) == 8  # label, six features, age_band once (slice and bias)
    assert suite.cost is not None and suite.cost.usd_per_hour == 0.36
    assert suite.latency_predictions == 20
    minimal = parse_suite("name: n\ndataset: d\nlabel: y\nfeatures: [x]\ntask: regression\n")
    assert minimal.metrics == ("rmse", "mae") and minimal.cost is None
    assert minimal.latency_predictions == DEFAULT_LATENCY_PREDICTIONS


def test_every_problem_is_reported_with_its_path() -> None:
    text = (
        "name: n\ndataset: 'a b/c'\nfeatures: [x, x, is_fraud]\nlabel: is_fraud\n"
        "task: ranking\nmetrics: [f1, f2]\nthreshold: 2\nlatency: {predictions: -1, warm: 1}\n"
        "cost: {usd_per_1k: 0.1, usd_per_hour: 1}\nextra: 1\n"
    )
    with pytest.raises(Invalid) as caught:
        parse_suite(text, source="bad.yaml")
    errors = caught.value.details["errors"]
    expected = [
        "extra: is not a suite key",
        "dataset: 'a b/c' must be TEAM/NAME",
        "features: column 'x' is listed twice",
        "features: the label 'is_fraud' cannot be a feature",
        "task: 'ranking' is not one of classification, regression",
        "threshold: must be a number between 0 and 1",
        "latency.warm: is not a known key",
        "latency.predictions: must be a whole number",
        "cost: give usd_per_1k or usd_per_hour, not both",
    ]
    for line in expected:
        assert any(e.startswith(line) for e in errors), (line, errors)
    assert "bad.yaml is not a valid evaluation suite (11 problems)" in str(caught.value)
    assert "metrics[1]: 'f2' is not one of" in str(caught.value)
    assert caught.value.exit_code == 2


def test_metric_names_are_checked_against_the_task() -> None:
    with pytest.raises(Invalid) as caught:
        parse_suite(suite_text(metrics="[f1, rmse]"))
    assert caught.value.details["errors"] == [
        "metrics[1]: 'rmse' is not one of accuracy, precision, recall, f1, roc_auc, log_loss"
    ]
    with pytest.raises(Invalid, match="sensitive_attribute: bias metrics apply"):
        parse_suite(suite_text(task="regression", threshold=None, metrics=None))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list\n", "must be a YAML mapping"),
        ("name: [unclosed\n", "is not valid YAML at line"),
        ("name: n\n", "label: is required"),
    ],
)
def test_unreadable_suites(text: str, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        parse_suite(text)


def test_suite_files(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no suite file"):
        read_suite(tmp_path / "missing.yaml")
    path = tmp_path / "s.yaml"
    path.write_text(suite_text(), encoding="utf-8")
    assert read_suite(path).name == "holdout"
