"""Evaluation suites: parse and validate the YAML, reporting every problem at once.

A suite says what to score a model version on and how (``docs/evaluate.md`` has the
reference)::

    name: fraud-holdout
    dataset: fraud-ml/transactions        # team/name of a data-domain dataset
    label: is_fraud
    features: [amount, hour, distance_km]  # in the order the model takes them
    task: classification                   # or regression
    threshold: 0.5                         # P(class 1) >= threshold -> predicted 1
    metrics: [accuracy, precision, recall, f1, roc_auc, log_loss]
    slices: [age_band]                     # metrics per value of these columns
    sensitive_attribute: age_band          # bias metrics over its groups
    latency: {predictions: 200}            # single-row predictions timed on the runtime
    cost: {usd_per_hour: 0.10}             # or usd_per_1k, or + predictions_per_second

:func:`parse_suite` raises :class:`~andon.core.errors.Invalid` listing each problem as
``path: reason`` (``metrics[2]: 'f2' is not one of ...``), like contracts do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from andon.core.errors import Invalid, NotFound
from andon.core.yaml_limits import load_bounded
from andon.evaluate.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS

TASKS = ("classification", "regression")
DEFAULT_LATENCY_PREDICTIONS = 200
MAX_LATENCY_PREDICTIONS = 100_000
_NAME = re.compile(r"^[\w][\w .:/@-]{0,199}$")
_DATASET = re.compile(r"^(?:[a-z0-9][a-z0-9_-]{0,62}/)?[A-Za-z_][A-Za-z0-9_]*$")
_KEYS = {
    "name",
    "description",
    "dataset",
    "label",
    "features",
    "task",
    "threshold",
    "metrics",
    "slices",
    "sensitive_attribute",
    "latency",
    "cost",
}


@dataclass(frozen=True)
class CostModel:
    """How a prediction is priced: directly, or from the serving instance's hourly price."""

    usd_per_1k: float | None = None
    usd_per_hour: float | None = None
    predictions_per_second: float | None = None

    def as_dict(self) -> dict[str, float]:
        """The declared fields only."""
        return {
            k: v
            for k, v in (
                ("usd_per_1k", self.usd_per_1k),
                ("usd_per_hour", self.usd_per_hour),
                ("predictions_per_second", self.predictions_per_second),
            )
            if v is not None
        }


@dataclass(frozen=True)
class Suite:
    """A validated evaluation suite."""

    name: str
    dataset: str
    label: str
    features: tuple[str, ...]
    task: str
    threshold: float = 0.5
    metrics: tuple[str, ...] = ()
    slices: tuple[str, ...] = ()
    sensitive_attribute: str | None = None
    latency_predictions: int = DEFAULT_LATENCY_PREDICTIONS
    cost: CostModel | None = None
    description: str = ""
    document: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def columns(self) -> list[str]:
        """Every column the suite reads, each once, in a stable order."""
        wanted = [self.label, *self.features, *self.slices]
        if self.sensitive_attribute:
            wanted.append(self.sensitive_attribute)
        return list(dict.fromkeys(wanted))

    def as_dict(self) -> dict[str, Any]:
        """The normalised suite, as stored with each evaluation."""
        return {
            "name": self.name,
            "description": self.description,
            "dataset": self.dataset,
            "label": self.label,
            "features": list(self.features),
            "task": self.task,
            "threshold": self.threshold,
            "metrics": list(self.metrics),
            "slices": list(self.slices),
            "sensitive_attribute": self.sensitive_attribute,
            "latency": {"predictions": self.latency_predictions},
            "cost": self.cost.as_dict() if self.cost else None,
        }


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append(f"{path}: {reason}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _column(value: Any, path: str, errors: _Errors) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors.add(path, f"must be a column name, not {value!r}")
        return None
    return value


def _columns(doc: dict[str, Any], key: str, errors: _Errors, *, required: bool) -> list[str]:
    raw = doc.get(key)
    if raw is None:
        if required:
            errors.add(key, "is required (a list of column names)")
        return []
    if not isinstance(raw, list):
        errors.add(key, f"must be a list of column names, not {type(raw).__name__}")
        return []
    if required and not raw:
        errors.add(key, "must name at least one column")
    out = [c for i, v in enumerate(raw) if (c := _column(v, f"{key}[{i}]", errors))]
    for dup in sorted({c for c in out if out.count(c) > 1}):
        errors.add(key, f"column {dup!r} is listed twice")
    return out


def _positive(section: dict[str, Any], key: str, path: str, errors: _Errors) -> float | None:
    value = section.get(key)
    if value is None:
        return None
    if not _number(value) or value < 0 or (value == 0 and key == "predictions_per_second"):
        errors.add(f"{path}.{key}", f"must be a positive number, not {value!r}")
        return None
    return float(value)


def _cost(raw: Any, errors: _Errors) -> CostModel | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.add(
            "cost", "must be a mapping: usd_per_1k, or usd_per_hour [+ predictions_per_second]"
        )
        return None
    for key in sorted(set(raw) - {"usd_per_1k", "usd_per_hour", "predictions_per_second"}):
        errors.add(f"cost.{key}", "is not one of usd_per_1k, usd_per_hour, predictions_per_second")
    per_1k = _positive(raw, "usd_per_1k", "cost", errors)
    per_hour = _positive(raw, "usd_per_hour", "cost", errors)
    pps = _positive(raw, "predictions_per_second", "cost", errors)
    if "usd_per_1k" in raw and "usd_per_hour" in raw:
        errors.add("cost", "give usd_per_1k or usd_per_hour, not both")
    elif "usd_per_1k" not in raw and "usd_per_hour" not in raw:
        errors.add("cost", "needs usd_per_1k or usd_per_hour")
    if "predictions_per_second" in raw and "usd_per_hour" not in raw:
        errors.add("cost.predictions_per_second", "only applies with usd_per_hour")
    return CostModel(per_1k, per_hour, pps)


def _latency(raw: Any, errors: _Errors) -> int:
    if raw is None:
        return DEFAULT_LATENCY_PREDICTIONS
    if not isinstance(raw, dict):
        errors.add("latency", "must be a mapping such as {predictions: 200}")
        return DEFAULT_LATENCY_PREDICTIONS
    for key in sorted(set(raw) - {"predictions"}):
        errors.add(f"latency.{key}", "is not a known key (predictions)")
    n = raw.get("predictions", DEFAULT_LATENCY_PREDICTIONS)
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_LATENCY_PREDICTIONS:
        errors.add(
            "latency.predictions",
            f"must be a whole number from 0 (skip) to {MAX_LATENCY_PREDICTIONS}, not {n!r}",
        )
        return DEFAULT_LATENCY_PREDICTIONS
    return n


def _text(doc: dict[str, Any], key: str, errors: _Errors) -> str:
    value = doc.get(key)
    if value is None:
        errors.add(key, "is required")
        return ""
    if not isinstance(value, str) or not value.strip():
        errors.add(key, f"must be a non-empty string, not {value!r}")
        return ""
    return value


def parse_suite(text: str, *, source: str = "suite") -> Suite:
    """Parse suite YAML; raise :class:`Invalid` listing every problem with its path."""
    import yaml  # type: ignore[import-untyped]

    try:
        doc = load_bounded(text, source=source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise Invalid(
            f"{source} is not valid YAML{where}: {getattr(exc, 'problem', exc)}", field="suite"
        ) from None
    if not isinstance(doc, dict):
        raise Invalid(f"{source} must be a YAML mapping (an evaluation suite)", field="suite")
    errors = _Errors()
    for key in sorted(set(map(str, doc)) - _KEYS):
        errors.add(key, f"is not a suite key ({', '.join(sorted(_KEYS))})")
    name = _text(doc, "name", errors)
    if name and not _NAME.match(name):
        errors.add("name", f"{name!r} must be 1 to 200 letters, digits, spaces or . _ : / @ -")
    dataset = _text(doc, "dataset", errors)
    if dataset and not _DATASET.match(dataset):
        errors.add("dataset", f"{dataset!r} must be TEAM/NAME (or NAME) of a dataset")
    label = _column(doc.get("label"), "label", errors) if "label" in doc else None
    if "label" not in doc:
        errors.add("label", "is required (the column holding the true value)")
    features = _columns(doc, "features", errors, required=True)
    if label and label in features:
        errors.add("features", f"the label {label!r} cannot be a feature")
    task = doc.get("task", "classification")
    if task not in TASKS:
        errors.add("task", f"{task!r} is not one of {', '.join(TASKS)}")
    allowed = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    threshold = doc.get("threshold", 0.5)
    if not _number(threshold) or not 0 <= threshold <= 1:
        errors.add("threshold", f"must be a number between 0 and 1, not {threshold!r}")
        threshold = 0.5
    elif "threshold" in doc and task == "regression":
        errors.add("threshold", "only applies to classification")
    raw_metrics = doc.get("metrics")
    metrics: list[str] = list(allowed)
    if raw_metrics is not None:
        if not isinstance(raw_metrics, list) or not raw_metrics:
            errors.add("metrics", f"must be a non-empty list of {', '.join(allowed)}")
        else:
            metrics = []
            for i, m in enumerate(raw_metrics):
                if m not in allowed:
                    errors.add(f"metrics[{i}]", f"{m!r} is not one of {', '.join(allowed)}")
                elif m not in metrics:
                    metrics.append(m)
    slices = _columns(doc, "slices", errors, required=False)
    sensitive = doc.get("sensitive_attribute")
    if sensitive is not None:
        sensitive = _column(sensitive, "sensitive_attribute", errors)
        if sensitive is not None and task != "classification":
            errors.add("sensitive_attribute", "bias metrics apply to classification only")
    latency = _latency(doc.get("latency"), errors)
    cost = _cost(doc.get("cost"), errors)
    description = doc.get("description", "")
    if not isinstance(description, str):
        errors.add("description", "must be text")
        description = ""
    if errors.items:
        raise Invalid(
            f"{source} is not a valid evaluation suite ({len(errors.items)} "
            f"{'problem' if len(errors.items) == 1 else 'problems'}):\n  "
            + "\n  ".join(errors.items),
            field="suite",
            errors=errors.items,
        )
    return Suite(
        name=name,
        dataset=dataset,
        label=str(label),
        features=tuple(features),
        task=str(task),
        threshold=float(threshold),
        metrics=tuple(metrics),
        slices=tuple(slices),
        sensitive_attribute=sensitive,
        latency_predictions=latency,
        cost=cost,
        description=description,
        document=doc,
    )


def read_suite(path: Path) -> Suite:
    """Parse the suite file at ``path`` (NotFound / Invalid with the path when unreadable)."""
    file = Path(path)
    if not file.is_file():
        raise NotFound(f"no suite file at {file}", field="suite")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Invalid(f"{file} is not UTF-8 text", field="suite") from None
    return parse_suite(text, source=str(file))
