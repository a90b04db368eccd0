"""Open Data Contract Standard (ODCS) v3 contracts: parse, validate, and hold them typed.

:func:`parse_contract` reads the YAML and reports *every* problem at once, each as
``path: reason`` (``schema[0].properties[3].logicalType: 'strng' is not one of string, ...``).

What andon reads of ODCS v3 (everything else is kept in the document, and what andon could
check but does not is reported ``not_checked``, never dropped):

* ``apiVersion``, ``kind: DataContract``, ``id``, ``version``, ``status``.
* ``servers[]``: see :mod:`andon.data.servers` (``duckdb``, ``local``, ``postgresql``, and
  Spark through ``custom``); credentials are refused (:mod:`andon.data.credentials`).
* ``schema[]`` objects: ``name``, ``id``, ``physicalName``, ``properties[]`` (``name``,
  ``id``, ``logicalType``, ``logicalTypeOptions`` (``minimum``, ``maximum``, ``pattern``),
  ``physicalType``, ``required``, ``unique``, ``primaryKey``, ``classification``,
  ``quality[]``, ``relationships[]``), object-level ``quality[]`` and ``relationships[]``
  (:mod:`andon.data.relationships`).
* ``quality[]`` rules: ``type: library`` (the default) with ``metric`` ``rowCount``,
  ``nullValues``, ``missingValues``, ``invalidValues`` (``arguments.validValues`` or
  ``arguments.pattern``; ``validValues`` at the rule's top level too) or ``duplicateValues``,
  or the v3.0 spelling ``rule`` (``duplicateCount``, ``validValues``, ``rowCount``);
  ``type: sql`` with ``query`` (``${object}`` and ``${property}`` are replaced by the table
  and column); thresholds ``mustBe``, ``mustNotBe``, ``mustBeGreaterThan``,
  ``mustBeGreaterOrEqualTo``, ``mustBeLessThan``, ``mustBeLessOrEqualTo``, ``mustBeBetween``,
  ``mustNotBeBetween`` (inclusive bounds); ``unit`` ``rows`` or ``percent``; ``severity``
  (``error``, ``critical``, ``fatal``, ``high`` and ``blocker`` fail the run, any other word
  such as ``warning`` or ``info`` is reported); ``name``. ``type: text`` rules, custom rules
  of other engines and units other than rows or percent are ``not_checked``.
* ``slaProperties[]``: see :mod:`andon.data.slas`.

andon's own rules live where the standard keeps other engines' rules, ``type: custom`` with
``engine: andon`` and ``implementation: {metric: ..., arguments: {...}}`` (thresholds,
``unit`` and ``severity`` as on any rule; documented in ``docs/data.md``):

* ``outOfRange``: ``arguments.minimum`` / ``arguments.maximum``; counts values outside.
* ``unitMismatch``: ``arguments.unit`` (``kg``, ``g``, ``t``, ``m``, ``km``, ``s``, ``USD``,
  ``EUR``, ``GBP`` ...), ``arguments.maximum`` (largest plausible value in that unit) and
  optionally ``arguments.factor``; see :mod:`andon.data.checks` for the rule.
* ``missingJoins``: ``arguments.to`` = ``table.column``; the relationship check with a
  threshold of its own (a plain foreign key is a property's ``relationships``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from andon.core.errors import Invalid, NotFound
from andon.core.notices import notify
from andon.core.yaml_limits import load_bounded
from andon.data.credentials import uri_passwords
from andon.data.dialect import OPERATORS, upgrade
from andon.data.problems import Problems, is_number, list_field, one_of, text_field
from andon.data.relationships import (
    Declared,
    Relationship,
    declared_on_object,
    declared_on_property,
    resolve,
)
from andon.data.servers import Server, parse_server
from andon.data.slas import SlaProperty, parse_slas
from andon.data.standard import standard_errors
from andon.data.units import UNIT_FACTORS

__all__ = [
    "Contract",
    "Freshness",
    "Property",
    "Relationship",
    "Rule",
    "SchemaObject",
    "Server",
    "SlaProperty",
    "Unchecked",
    "parse_contract",
    "read_contract_file",
    "validate_errors",
]

LOGICAL_TYPES = (
    "string", "integer", "number", "boolean", "date", "timestamp", "time", "object", "array",
    "map", "vector",
)  # fmt: skip
STANDARD_METRICS = ("rowCount", "nullValues", "missingValues", "invalidValues", "duplicateValues")
EXTENSION_METRICS = ("outOfRange", "unitMismatch", "missingJoins")
METRICS = STANDARD_METRICS + EXTENSION_METRICS
V30_RULES = {
    "duplicateCount": "duplicateValues",
    "validValues": "invalidValues",
    "rowCount": "rowCount",
    "nullValues": "nullValues",
    "missingValues": "missingValues",
    "invalidValues": "invalidValues",
    "duplicateValues": "duplicateValues",
}
"""ODCS v3.0.x library ``rule`` names and the v3.1 ``metric`` each is."""
BLOCKING_SEVERITIES = ("error", "critical", "fatal", "high", "blocker")
"""Severities whose failure fails the run; any other (``warning``, ``info``, ...) is reported."""
UNITS = ("rows", "percent")
QUALITY_TYPES = ("library", "sql", "text", "custom")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_Errors = Problems  # the parsers below predate the shared name


@dataclass(frozen=True)
class Rule:
    """One ``quality[]`` entry, normalised."""

    type: str
    metric: str | None
    operator: str | None
    threshold: Any
    unit: str
    severity: str
    name: str | None
    arguments: dict[str, Any]
    query: str | None
    path: str


@dataclass(frozen=True)
class Property:
    """One column of a schema object."""

    name: str
    logical_type: str  # "" when the contract gives none (no type is checked then)
    physical_type: str | None
    required: bool
    unique: bool
    classification: str | None
    quality: tuple[Rule, ...]
    options: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    primary_key: bool = False

    @property
    def pii(self) -> bool:
        """Whether samples must mask this column."""
        return (self.classification or "").lower() in {
            "pii",
            "restricted",
            "confidential",
            "sensitive",
        }


@dataclass(frozen=True)
class SchemaObject:
    """One table of a contract."""

    name: str
    physical_name: str
    properties: tuple[Property, ...]
    quality: tuple[Rule, ...]
    id: str | None = None

    def prop(self, name: str) -> Property | None:
        """The property called ``name``, if declared."""
        return next((p for p in self.properties if p.name == name), None)


@dataclass(frozen=True)
class Freshness:
    """An SLA: the newest ``table.column`` value must be at most ``seconds`` old."""

    table: str
    column: str
    seconds: int
    value: float
    unit: str


@dataclass(frozen=True)
class Unchecked:
    """Something a contract declares that andon does not check, and why (``not_checked``)."""

    name: str
    table: str | None
    column: str | None
    kind: str  # the rule type or metric, ``foreignKey``, or ``sla:<property>``
    reason: str
    path: str


@dataclass(frozen=True)
class Contract:
    """A parsed, valid ODCS v3 contract."""

    id: str
    version: str
    status: str
    servers: tuple[Server, ...]
    schema: tuple[SchemaObject, ...]
    slas: tuple[SlaProperty, ...]
    document: dict[str, Any] = field(repr=False)  # as written (its digest names the content)
    relationships: tuple[Relationship, ...] = ()
    unchecked: tuple[Unchecked, ...] = ()
    legacy: tuple[str, ...] = ()  # how the document departs from the standard (andon's old dialect)

    @property
    def freshness(self) -> tuple[Freshness, ...]:
        """The ``latency`` SLAs: the newest value of a column must be at most so old."""
        return tuple(
            Freshness(s.table, s.column, int(s.seconds or 0), float(s.value), s.unit)
            for s in self.slas
            if s.kind == "latency"
        )

    def table(self, name: str) -> SchemaObject | None:
        """The schema object called ``name``."""
        return next((s for s in self.schema if s.name == name), None)

    def server(self, name: str | None) -> Server:
        """The named server, or the first one; :class:`Invalid` when unknown."""
        if name is None:
            return self.servers[0]
        for server in self.servers:
            if server.name == name:
                return server
        raise Invalid(
            f"contract '{self.id}' has no server '{name}' "
            f"(servers: {', '.join(s.name for s in self.servers)})",
            field="server",
        )


Parsed = Rule | Declared | Unchecked


def _rule(raw: Any, path: str, problems: Problems, table: str, column: str | None) -> Parsed | None:
    """One ``quality[]`` entry: a rule to run, a relationship (``missingJoins``), or
    something andon reports ``not_checked``."""
    if not isinstance(raw, dict):
        problems.add(path, "must be a mapping")
        return None
    kind = raw.get("type", "library")
    if kind not in QUALITY_TYPES:
        problems.add(f"{path}.type", one_of(kind, QUALITY_TYPES))
        return None
    named = raw.get("name") or raw.get("id")
    base = f"{table}.{column}" if column else table
    source: dict[str, Any] = raw
    metric: Any = raw.get("metric")
    if kind == "text":
        return Unchecked(str(named or f"{base}.text"), table, column, "text",
                         "a text rule states an expectation in words; nothing runs", path)  # fmt: skip
    if kind == "custom":
        engine, implementation = raw.get("engine"), raw.get("implementation")
        if engine != "andon":
            return Unchecked(
                str(named or f"{base}.custom"), table, column, "custom",
                f"a custom rule for engine {engine!r}: andon runs those of engine andon", path,
            )  # fmt: skip
        if not isinstance(implementation, dict):
            problems.add(
                f"{path}.implementation", "must be {metric: ..., arguments: {...}} for engine andon"
            )
            return None
        source = {**implementation, **raw}
        metric = implementation.get("metric")
        kind = "library"  # runs as andon's own library metric
        if metric not in EXTENSION_METRICS:
            problems.add(f"{path}.implementation.metric", one_of(metric, EXTENSION_METRICS))
    elif kind == "library":
        if metric is None and "rule" in raw:
            metric = V30_RULES.get(raw["rule"])
            if metric is None:
                return Unchecked(
                    str(named or f"{base}.{raw['rule']}"), table, column, str(raw["rule"]),
                    f"library rule {raw['rule']!r} is not one andon implements "
                    f"({', '.join(V30_RULES)})", path,
                )  # fmt: skip
        if metric not in METRICS:
            problems.add(f"{path}.metric", one_of(metric, METRICS))
    arguments = source.get("arguments") or {}
    if not isinstance(arguments, dict):
        problems.add(f"{path}.arguments", "must be a mapping")
        arguments = {}
    arguments = dict(arguments)
    if "validValues" in raw:
        arguments.setdefault("validValues", raw["validValues"])
    query = raw.get("query")
    if kind == "sql" and (not isinstance(query, str) or not query.strip()):
        problems.add(f"{path}.query", "a sql rule needs a non-empty query")
    ops = [op for op in OPERATORS if op in source]
    if len(ops) > 1:
        problems.add(path, f"give one threshold, not {', '.join(ops)}")
    operator = ops[0] if ops else None
    threshold = source.get(operator) if operator else None
    if operator in ("mustBeBetween", "mustNotBeBetween"):
        if not (
            isinstance(threshold, list)
            and len(threshold) == 2
            and all(is_number(v) for v in threshold)
            and threshold[0] <= threshold[1]
        ):
            problems.add(f"{path}.{operator}", "must be two numbers [low, high] with low <= high")
    elif operator and not is_number(threshold):
        problems.add(f"{path}.{operator}", f"must be a number, not {threshold!r}")
    if operator is None and kind == "sql":
        problems.add(path, "a sql rule needs a threshold such as mustBe: 0")
    if operator is None and metric == "rowCount":
        problems.add(path, "rowCount needs a threshold such as mustBeGreaterThan: 0")
    unit = str(source.get("unit", "rows")).strip().lower()
    unit = {"%": "percent", "row": "rows"}.get(unit, unit)
    severity = source.get("severity", "error")
    if not isinstance(severity, str) or not severity.strip():
        problems.add(
            f"{path}.severity", f"must be a word such as error or warning, not {severity!r}"
        )
        severity = "error"
    severity = "error" if severity.strip().lower() in BLOCKING_SEVERITIES else "warning"
    _check_arguments(metric, arguments, path, problems)
    name = str(named) if named else None
    if unit not in UNITS:
        return Unchecked(
            name or f"{base}.{metric or kind}", table, column, str(metric or kind),
            f"unit {source.get('unit')!r}: andon measures rows or percent", path,
        )  # fmt: skip
    if metric == "missingJoins":
        to = arguments.get("to")
        if column is None:
            problems.add(path, "missingJoins belongs on a property (the key column)")
            return None
        if not isinstance(to, str):
            return None  # _check_arguments said why
        return Declared(
            f"{path}.arguments", (f"{table}.{column}",), (to,), name or f"{base}.missingJoins",
            severity, operator or "mustBe", threshold if operator else 0, unit, "missingJoins",
        )  # fmt: skip
    return Rule(
        str(kind), metric, operator, threshold, unit, severity, name, arguments,
        query if isinstance(query, str) else None, path,
    )  # fmt: skip


def _check_arguments(metric: Any, args: dict[str, Any], path: str, errors: Problems) -> None:
    where = f"{path}.arguments"
    if metric == "invalidValues":
        valid, pattern = args.get("validValues"), args.get("pattern")
        if valid is None and pattern is None:
            errors.add(where, "invalidValues needs validValues or pattern")
        if valid is not None and (not isinstance(valid, list) or not valid):
            errors.add(f"{where}.validValues", "must be a non-empty list")
        if pattern is not None:
            try:
                re.compile(str(pattern))
            except re.error as exc:
                errors.add(f"{where}.pattern", f"{pattern!r} is not a valid regex: {exc}")
    elif metric == "outOfRange":
        low, high = args.get("minimum"), args.get("maximum")
        if low is None and high is None:
            errors.add(where, "outOfRange needs minimum or maximum")
        for key in ("minimum", "maximum"):
            if args.get(key) is not None and not is_number(args[key]):
                errors.add(f"{where}.{key}", f"must be a number, not {args[key]!r}")
    elif metric == "unitMismatch":
        unit = args.get("unit")
        if unit not in UNIT_FACTORS and not is_number(args.get("factor")):
            errors.add(
                f"{where}.unit",
                f"{unit!r} is not one of {', '.join(UNIT_FACTORS)} (or give a numeric factor)",
            )
        if not is_number(args.get("maximum")) or args["maximum"] <= 0:
            errors.add(f"{where}.maximum", "must be the largest plausible value, > 0")
    elif metric == "missingJoins":
        to = args.get("to")
        if not isinstance(to, str) or to.count(".") != 1:
            errors.add(f"{where}.to", "must name another table's column as table.column")


@dataclass
class _Found:
    """What the parse of the schema collects beside the tables themselves."""

    declared: list[Declared] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)

    def rules(self, items: list[Parsed | None]) -> tuple[Rule, ...]:
        """The runnable rules of ``items``, the others filed where they belong."""
        kept = []
        for item in items:
            if isinstance(item, Rule):
                kept.append(item)
            elif isinstance(item, Declared):
                self.declared.append(item)
            elif isinstance(item, Unchecked):
                self.unchecked.append(item)
        return tuple(kept)


def _property(
    raw: Any, path: str, problems: Problems, table: str, found: _Found
) -> Property | None:
    if not isinstance(raw, dict):
        problems.add(path, "must be a mapping")
        return None
    name = text_field(raw, "name", f"{path}.", problems, required=True)
    logical = raw.get("logicalType")
    if logical is not None and logical not in LOGICAL_TYPES:
        problems.add(f"{path}.logicalType", one_of(logical, LOGICAL_TYPES))
    for key in ("required", "unique", "primaryKey"):
        if key in raw and not isinstance(raw[key], bool):
            problems.add(f"{path}.{key}", f"must be true or false, not {raw[key]!r}")
    rules = found.rules(
        [
            _rule(r, f"{path}.quality[{i}]", problems, table, name)
            for i, r in enumerate(list_field(raw, "quality", f"{path}.", problems))
        ]
    )
    found.declared += declared_on_property(
        raw.get("relationships"), f"{path}.relationships", table, name, problems
    )
    physical = raw.get("physicalType")
    classification = raw.get("classification")
    options = raw.get("logicalTypeOptions") or {}
    if not isinstance(options, dict):
        problems.add(f"{path}.logicalTypeOptions", "must be a mapping")
        options = {}
    for key in ("minimum", "maximum"):
        if options.get(key) is not None and not is_number(options[key]):
            problems.add(
                f"{path}.logicalTypeOptions.{key}", f"must be a number, not {options[key]!r}"
            )
    if options.get("pattern") is not None:
        try:
            re.compile(str(options["pattern"]))
        except re.error as exc:
            problems.add(
                f"{path}.logicalTypeOptions.pattern",
                f"{options['pattern']!r} is not a valid regex: {exc}",
            )
    return Property(
        name,
        str(logical or ""),
        str(physical) if physical else None,
        raw.get("required") is True,
        raw.get("unique") is True,
        str(classification) if classification else None,
        rules,
        dict(options),
        str(raw["id"]) if raw.get("id") else None,
        raw.get("primaryKey") is True,
    )


def _object(raw: Any, path: str, problems: Problems, found: _Found) -> SchemaObject | None:
    if not isinstance(raw, dict):
        problems.add(path, "must be a mapping")
        return None
    name = text_field(raw, "name", f"{path}.", problems, required=True)
    if name and not _NAME.match(name):
        problems.add(f"{path}.name", f"{name!r} must be letters, digits and _")
    props = [
        _property(p, f"{path}.properties[{j}]", problems, name, found)
        for j, p in enumerate(list_field(raw, "properties", f"{path}.", problems))
    ]
    seen = [p.name for p in props if p]
    for dup in sorted({n for n in seen if seen.count(n) > 1}):
        problems.add(f"{path}.properties", f"property {dup!r} is declared twice")
    rules = found.rules(
        [
            _rule(r, f"{path}.quality[{j}]", problems, name, None)
            for j, r in enumerate(list_field(raw, "quality", f"{path}.", problems))
        ]
    )
    found.declared += declared_on_object(
        raw.get("relationships"), f"{path}.relationships", problems
    )
    physical = raw.get("physicalName") or name
    return SchemaObject(
        name, str(physical), tuple(p for p in props if p), rules,
        str(raw["id"]) if raw.get("id") else None,
    )  # fmt: skip


def _load(text: str, source: str) -> dict[str, Any]:
    import yaml  # type: ignore[import-untyped]

    try:
        # Unquoted dates stay text: the standard's schema judges them as the strings they are.
        doc = load_bounded(text, source=source, timestamps=False)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise Invalid(
            f"{source} is not valid YAML{where}: {getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(doc, dict):
        raise Invalid(f"{source} must be a YAML mapping (an ODCS v3 DataContract)")
    leaks = uri_passwords(doc)
    if leaks:  # before anything else can echo the value
        raise Invalid(f"{source} holds credentials:\n  " + "\n  ".join(leaks), errors=leaks)
    return doc


def _refuse(source: str, problems: list[str]) -> NoReturn:
    count = len(problems)
    raise Invalid(
        f"{source} is not a valid ODCS v3 contract ({count} "
        f"{'problem' if count == 1 else 'problems'}):\n  " + "\n  ".join(problems),
        errors=problems,
    )


def parse_contract(text: str, *, source: str = "contract") -> Contract:
    """Parse ODCS v3 YAML; raise :class:`Invalid` listing every problem at once."""
    written = _load(text, source)
    doc, legacy = upgrade(written)
    departures = standard_errors(doc)
    if departures and (not legacy or departures[0].startswith("apiVersion:")):
        _refuse(source, departures)
    if legacy:
        remaining = (
            f"; {len(departures)} departures from ODCS remain after it" if departures else ""
        )
        notify(
            f"{source} is written in andon's pre-standard contract dialect ({len(legacy)} "
            f"{'change' if len(legacy) == 1 else 'changes'}, first {legacy[0]}{remaining}); it "
            "still runs, and `andon contract upgrade FILE --in-place` rewrites it as ODCS"
        )
    problems = Problems()
    api = doc.get("apiVersion")
    if doc.get("kind") != "DataContract":
        problems.add("kind", f"{doc.get('kind')!r} must be DataContract")
    cid = text_field(doc, "id", "", problems, required=True)
    version = text_field(doc, "version", "", problems, required=True)
    status = text_field(doc, "status", "", problems, required=api != "v3.2.0")
    servers = [
        parse_server(s, f"servers[{i}]", problems)
        for i, s in enumerate(list_field(doc, "servers", "", problems))
    ]
    if not doc.get("servers"):
        problems.add("servers", "at least one server is required to run checks")
    names = [s.name for s in servers if s]
    if len(set(names)) != len(names):
        problems.add("servers", "server names must be unique")
    raw_schema = list_field(doc, "schema", "", problems)
    if not raw_schema:
        problems.add("schema", "at least one schema object is required")
    found = _Found()
    parsed = [_object(raw, f"schema[{i}]", problems, found) for i, raw in enumerate(raw_schema)]
    objects = [o for o in parsed if o]
    tables = {o.name: o for o in objects}
    if len(tables) != len(objects):
        problems.add("schema", "schema object names must be unique")
    relationships, unreachable = resolve(found.declared, tables, problems)
    slas, unobserved = parse_slas(
        list_field(doc, "slaProperties", "", problems),
        doc.get("slaDefaultElement"),
        tables,
        problems,
    )
    if problems.items:
        _refuse(source, problems.items)
    return Contract(
        cid,
        version,
        status,
        tuple(s for s in servers if s),
        tuple(objects),
        tuple(slas),
        written,
        tuple(relationships),
        (*found.unchecked, *unreachable, *unobserved),
        tuple(legacy),
    )


def validate_errors(text: str) -> list[str]:
    """Every problem of a contract text (empty when valid)."""
    try:
        parse_contract(text)
    except Invalid as exc:
        return list(exc.details.get("errors", [str(exc)]))
    return []


def read_contract_file(path: Path) -> str:
    """The text of a contract file, with clear errors for missing or unreadable files."""
    if not path.exists():
        raise NotFound(f"no contract file at {path}")
    if path.is_dir():
        raise Invalid(f"{path} is a folder, not a contract file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Invalid(f"{path} is not UTF-8 text") from None
