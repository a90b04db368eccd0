"""Checks: what a contract asks of its data, thresholds, and results.

:func:`plan` turns a :class:`~andon.data.contracts.Contract` into :class:`Check` objects. Each
check counts something (its *observed* value) and compares it with a threshold; the engine
(:mod:`andon.data.compile`) computes every single-table count in one aggregate per table.

Implied checks: ``required: true`` adds ``nullValues mustBe 0``, ``unique: true`` adds
``duplicateValues mustBe 0`` (``primaryKey: true`` both; on several columns, one
``duplicateValues`` over the composite key named ``<table>.primaryKey``), ``logicalTypeOptions`` ``minimum``/``maximum`` add an
``outOfRange`` and ``pattern`` an ``invalidValues`` check (all severity ``error``). Counting metrics without a threshold
default to ``mustBe: 0``. With ``unit: percent`` the observed value is the share of the
table's rows, in percent.

**Unit mismatch rule.** A column declared in a unit (``kg``) with a largest plausible value
``M`` holds a value at the wrong scale when ``value > M`` and ``value / f <= M``, where ``f``
is the factor to the usual smaller unit (``kg`` 1000 for grams, ``USD`` 100 for cents; see
:data:`~andon.data.units.UNIT_FACTORS`, or ``arguments.factor``). Such a value is implausible as declared but
plausible once divided by ``f``: exactly what a gram or cent written into a kilogram or dollar
column looks like. Values above ``M * f`` are too large in either unit and are left to
``outOfRange``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from andon.core.records import published
from andon.data.contracts import Contract, Rule

Status = Literal["pass", "fail", "error", "not_checked"]
SLA_KINDS = ("latency", "retention", "frequency", "timeOfAvailability")
"""Service levels measured on a timestamp column: the newest value (the oldest for retention)."""

ROW_METRICS = ("nullValues", "missingValues", "invalidValues", "outOfRange", "unitMismatch")
"""Metrics with a per-row predicate: failed rows are counted and sampled."""
REFERENCE_KINDS = ("foreignKey", "missingJoins")
"""Checks across two tables (a relationship): one query each."""


@dataclass(frozen=True)
class Check:
    """One thing to verify on one table (and maybe one column)."""

    name: str
    table: str
    column: str | None
    kind: str  # a metric, "sql", "freshness" or "schema"
    severity: str
    operator: str
    threshold: Any
    unit: str = "rows"
    arguments: dict[str, Any] = field(default_factory=dict)
    query: str | None = None
    implied: bool = False  # from required/unique/logicalTypeOptions, not a quality rule

    def threshold_dict(self) -> dict[str, Any]:
        """The threshold as ODCS spells it."""
        if self.kind == "timeOfAvailability":
            return {"timeOfAvailability": self.arguments["value"]}
        return {self.operator: self.threshold, "unit": self.unit}

    def passes(self, observed: float) -> bool:
        """Whether ``observed`` meets the threshold."""
        t = self.threshold
        match self.operator:
            case "mustBe":
                return bool(observed == t)
            case "mustNotBe":
                return bool(observed != t)
            case "mustBeGreaterThan":
                return bool(observed > t)
            case "mustBeGreaterOrEqualTo":
                return bool(observed >= t)
            case "mustBeLessThan":
                return bool(observed < t)
            case "mustBeLessOrEqualTo":
                return bool(observed <= t)
            case "mustBeBetween":
                return bool(t[0] <= observed <= t[1])
            case "mustNotBeBetween":
                return not t[0] <= observed <= t[1]
        raise ValueError(f"unknown operator {self.operator}")


@published
@dataclass
class Result:
    """One check's outcome (the documented result schema of `andon check run`)."""

    check: str
    dataset: str | None  # None for what belongs to no one table (not_checked only)
    column: str | None
    kind: str
    status: Status
    severity: str
    observed: Any
    threshold: dict[str, Any]
    failed_rows: int | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the documented result schema)."""
        return {
            "check": self.check,
            "dataset": self.dataset,
            "column": self.column,
            "kind": self.kind,
            "status": self.status,
            "severity": self.severity,
            "observed": self.observed,
            "threshold": self.threshold,
            "failed_rows": self.failed_rows,
            "samples": self.samples,
            "message": self.message,
        }


def _from_rule(table: str, column: str | None, rule: Rule) -> Check:
    kind = "sql" if rule.type == "sql" else str(rule.metric)
    base = f"{table}.{column}" if column else table
    return Check(
        name=rule.name or f"{base}.{kind}",
        table=table,
        column=column,
        kind=kind,
        severity=rule.severity,
        operator=rule.operator or "mustBe",
        threshold=rule.threshold if rule.operator else 0,
        unit=rule.unit,
        arguments=rule.arguments,
        query=rule.query,
    )


def plan(contract: Contract) -> list[Check]:
    """Every executable check of ``contract``, with unique names, in contract order."""
    checks: list[Check] = []
    for obj in contract.schema:
        keys = [p.name for p in obj.properties if p.primary_key]
        for prop in obj.properties:
            declared = {r.metric for r in prop.quality}
            # A primary key is required and unique; a composite one is unique as a whole.
            is_unique = prop.unique or (prop.primary_key and len(keys) == 1)
            if (prop.required or prop.primary_key) and not declared & {
                "nullValues",
                "missingValues",
            }:
                checks.append(
                    Check(f"{obj.name}.{prop.name}.required", obj.name, prop.name, "nullValues",
                          "error", "mustBe", 0, implied=True)
                )  # fmt: skip
            if is_unique and "duplicateValues" not in declared:
                checks.append(
                    Check(f"{obj.name}.{prop.name}.unique", obj.name, prop.name, "duplicateValues",
                          "error", "mustBe", 0, implied=True)
                )  # fmt: skip
            low, high = prop.options.get("minimum"), prop.options.get("maximum")
            if (low is not None or high is not None) and "outOfRange" not in declared:
                checks.append(
                    Check(f"{obj.name}.{prop.name}.range", obj.name, prop.name, "outOfRange",
                          "error", "mustBe", 0, arguments={"minimum": low, "maximum": high},
                          implied=True)
                )  # fmt: skip
            if prop.options.get("pattern") is not None:
                checks.append(
                    Check(f"{obj.name}.{prop.name}.pattern", obj.name, prop.name, "invalidValues",
                          "error", "mustBe", 0, arguments={"pattern": prop.options["pattern"]},
                          implied=True)
                )  # fmt: skip
            checks += [
                _from_rule(obj.name, prop.name, r) for r in prop.quality if r.type in ("library", "sql")
            ]  # fmt: skip
        checks += [
            _from_rule(obj.name, None, r) for r in obj.quality if r.type in ("library", "sql")
        ]
        if len(keys) > 1:
            checks.append(
                Check(f"{obj.name}.primaryKey", obj.name, None, "duplicateValues", "error",
                      "mustBe", 0, arguments={"properties": keys}, implied=True)
            )  # fmt: skip
    for rel in contract.relationships:
        checks.append(
            Check(rel.name, rel.from_table, rel.from_columns[0] if len(rel.from_columns) == 1 else None,
                  rel.kind, rel.severity, rel.operator, rel.threshold, rel.unit,
                  arguments={"to": rel.target, "from_columns": list(rel.from_columns),
                             "to_table": rel.to_table, "to_columns": list(rel.to_columns)})
        )  # fmt: skip
    for sla in contract.slas:
        # Every SLA compares an age in seconds with its duration, except timeOfAvailability,
        # whose threshold is the time of day (compile.py decides it against the run's clock).
        checks.append(
            Check(sla.name, sla.table, sla.column, sla.kind, "error", "mustBeLessOrEqualTo",
                  sla.seconds if sla.seconds is not None else sla.value, "seconds",
                  arguments={"at_minutes": sla.at_minutes, "offset_minutes": sla.offset_minutes,
                             "value": sla.value, "unit": sla.unit})
        )  # fmt: skip
    seen: dict[str, int] = {}
    unique = []
    for check in checks:
        n = seen.get(check.name, 0)
        seen[check.name] = n + 1
        if n:
            check = Check(**{**check.__dict__, "name": f"{check.name}#{n + 1}"})
        unique.append(check)
    return unique


def conforms(logical: str, dtype: Any) -> bool:
    """Whether an Ibis ``dtype`` satisfies an ODCS ``logicalType``."""
    match logical:
        case "string":
            return bool(dtype.is_string())
        case "integer":
            return bool(dtype.is_integer())
        case "number":
            return bool(dtype.is_numeric())
        case "boolean":
            return bool(dtype.is_boolean())
        case "date":
            return bool(dtype.is_date())
        case "timestamp":
            return bool(dtype.is_timestamp())
        case "object":
            return bool(dtype.is_struct() or dtype.is_map() or dtype.is_json())
        case "array" | "vector":
            return bool(dtype.is_array())
        case "time":
            return bool(dtype.is_time())
        case "map":
            return bool(dtype.is_map())
        case "":  # no logicalType declared: nothing to hold the column to
            return True
    return False
