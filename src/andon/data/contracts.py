"""Open Data Contract Standard (ODCS) v3 contracts: parse, validate, and hold them typed.

:func:`parse_contract` reads the YAML and reports *every* problem at once, each as
``path: reason`` (``schema[0].properties[3].logicalType: 'strng' is not one of string, ...``).

What andon reads of ODCS v3 (everything else is kept in the document but not interpreted):

* ``apiVersion`` (``v3.x.y``), ``kind: DataContract``, ``id``, ``version``, ``status``.
* ``servers[]``: ``server`` (its name), ``type`` and its connection fields. File servers
  (``duckdb``, ``parquet``, ``csv``, ``local``, and andon's ``spark``) take ``path`` and
  ``format`` (``parquet`` or ``csv`` for ``local`` and ``spark``). A relative path is
  relative to the contract file. A path that is a folder holds one file per table,
  ``<physicalName>.<format>``; for ``duckdb`` it is the database file and ``physicalName``
  the table. ``postgresql`` (or ``postgres``) names a connection a platform-admin
  declared, in the server's ``customProperties`` (``property: connection``); ``host``,
  ``port`` and ``database`` are optional and, when given, must equal the connection's
  (checked at apply, :mod:`andon.data.connections`); ``schema`` defaults to ``public``.
  Credentials (``password``, ``userEnv``, ``passwordEnv``, a URI with a password in any
  field) are refused, the password masked (:mod:`andon.data.credentials`). The engine behind each type lives in :mod:`andon.data.engines`.
* ``schema[]`` objects: ``name``, ``physicalName``, ``properties[]`` (``name``,
  ``logicalType``, ``logicalTypeOptions`` (``minimum``, ``maximum``, ``pattern``),
  ``physicalType``, ``required``, ``unique``, ``classification``, ``quality[]``) and
  object-level ``quality[]``.
* ``quality[]`` rules: ``type: library`` (may be omitted when ``metric`` is given) with
  ``metric`` ``rowCount``, ``nullValues``, ``missingValues``, ``invalidValues``
  (``arguments.validValues`` or ``arguments.pattern``; ``validValues`` at the rule's top level
  is accepted too) or ``duplicateValues``; ``type: sql`` with ``query`` (``${object}`` and
  ``${property}`` are replaced by the table and column); thresholds ``mustBe``,
  ``mustNotBe``, ``mustBeGreaterThan``, ``mustBeGreaterOrEqualTo``, ``mustBeLessThan``,
  ``mustBeLessOrEqualTo``, ``mustBeBetween``, ``mustNotBeBetween``; ``unit`` ``rows`` or
  ``percent``; ``severity`` ``error`` (default) or ``warning``; ``name``.
* ``slaProperties[]``: ``property: freshness`` with ``value``, ``unit`` (``s``, ``m``,
  ``h``, ``d``) and ``element`` (``table.column`` of the timestamp to measure).

andon's library extensions (same rule shape, documented in ``docs/data.md``):

* ``outOfRange``: ``arguments.minimum`` / ``arguments.maximum``; counts values outside.
* ``unitMismatch``: ``arguments.unit`` (``kg``, ``g``, ``t``, ``m``, ``km``, ``s``, ``USD``,
  ``EUR``, ``GBP`` ...), ``arguments.maximum`` (largest plausible value in that unit) and
  optionally ``arguments.factor``; see :mod:`andon.data.checks` for the rule.
* ``missingJoins``: ``arguments.to`` = ``table.column`` of another schema object of the same
  contract; counts rows whose non-null key has no match there (referential integrity).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from andon.core.errors import Invalid, NotFound
from andon.core.yaml_limits import load_bounded
from andon.data.credentials import SECRET_KEYS, server_connection, uri_passwords
from andon.data.units import UNIT_FACTORS

LOGICAL_TYPES = ("string", "integer", "number", "boolean", "date", "timestamp", "object", "array")
FILE_SERVER_TYPES = ("duckdb", "parquet", "csv", "local", "spark")
SERVER_TYPES = ("duckdb", "parquet", "csv", "local", "postgresql", "postgres", "spark")
FORMATS = ("parquet", "csv")
STANDARD_METRICS = ("rowCount", "nullValues", "missingValues", "invalidValues", "duplicateValues")
EXTENSION_METRICS = ("outOfRange", "unitMismatch", "missingJoins")
METRICS = STANDARD_METRICS + EXTENSION_METRICS
OPERATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)
SEVERITIES = ("error", "warning")
UNITS = ("rows", "percent")
QUALITY_TYPES = ("library", "sql", "text", "custom")
FRESHNESS_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Server:
    """Where a contract's data lives (file fields or database fields, by ``type``)."""

    name: str
    type: str
    path: str
    format: str
    host: str = ""  # as the contract gives it ("" when not), until bound to its connection
    port: int = 0
    database: str = ""
    schema: str = "public"
    connection: str = ""
    # Set only by binding to the stored connection (andon.data.connections.bind).
    user: str = ""
    password_env: str = ""
    bound: bool = False

    @property
    def engine(self) -> str:
        """The engine that reads this server: ``duckdb``, ``postgres`` or ``spark``."""
        if self.type in ("postgresql", "postgres"):
            return "postgres"
        return "spark" if self.type == "spark" else "duckdb"

    def describe(self) -> str:
        """Where the server is, for messages (never a credential)."""
        if self.engine == "postgres":
            return f"postgres at {self.host}:{self.port}/{self.database} (connection {self.connection!r})"
        return f"{self.type} at {self.path}"


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
    logical_type: str
    physical_type: str | None
    required: bool
    unique: bool
    classification: str | None
    quality: tuple[Rule, ...]
    options: dict[str, Any] = field(default_factory=dict)

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
class Contract:
    """A parsed, valid ODCS v3 contract."""

    id: str
    version: str
    status: str
    servers: tuple[Server, ...]
    schema: tuple[SchemaObject, ...]
    freshness: tuple[Freshness, ...]
    document: dict[str, Any] = field(repr=False)

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


class _Errors:
    """Collects ``path: reason`` lines."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append(f"{path}: {reason}" if path else reason)


def _one_of(value: Any, allowed: tuple[str, ...]) -> str:
    return f"{value!r} is not one of {', '.join(allowed)}"


def _str(doc: dict[str, Any], key: str, path: str, errors: _Errors, *, required: bool) -> str:
    value = doc.get(key)
    if value is None:
        if required:
            errors.add(f"{path}{key}", "is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.add(f"{path}{key}", f"must be a string, not {type(value).__name__}")
        return ""
    if str(value).strip() == "":
        errors.add(f"{path}{key}", "must not be empty")
    return str(value)


def _list(doc: dict[str, Any], key: str, path: str, errors: _Errors) -> list[Any]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(f"{path}{key}", f"must be a list, not {type(value).__name__}")
        return []
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rule(raw: Any, path: str, errors: _Errors) -> Rule | None:
    if not isinstance(raw, dict):
        errors.add(path, "must be a mapping")
        return None
    kind = raw.get("type", "library" if "metric" in raw else None)
    if kind not in QUALITY_TYPES:
        errors.add(f"{path}.type", _one_of(kind, QUALITY_TYPES))
        return None
    metric = raw.get("metric")
    if kind == "library" and metric not in METRICS:
        errors.add(f"{path}.metric", _one_of(metric, METRICS))
    arguments = raw.get("arguments") or {}
    if not isinstance(arguments, dict):
        errors.add(f"{path}.arguments", "must be a mapping")
        arguments = {}
    arguments = dict(arguments)
    if "validValues" in raw:
        arguments.setdefault("validValues", raw["validValues"])
    query = raw.get("query")
    if kind == "sql" and (not isinstance(query, str) or not query.strip()):
        errors.add(f"{path}.query", "a sql rule needs a non-empty query")
    ops = [op for op in OPERATORS if op in raw]
    if len(ops) > 1:
        errors.add(path, f"give one threshold, not {', '.join(ops)}")
    operator = ops[0] if ops else None
    threshold = raw.get(operator) if operator else None
    if operator in ("mustBeBetween", "mustNotBeBetween"):
        if not (
            isinstance(threshold, list)
            and len(threshold) == 2
            and all(_number(v) for v in threshold)
            and threshold[0] <= threshold[1]
        ):
            errors.add(f"{path}.{operator}", "must be two numbers [low, high] with low <= high")
    elif operator and not _number(threshold):
        errors.add(f"{path}.{operator}", f"must be a number, not {threshold!r}")
    if operator is None and kind == "sql":
        errors.add(path, "a sql rule needs a threshold such as mustBe: 0")
    if operator is None and metric == "rowCount":
        errors.add(path, "rowCount needs a threshold such as mustBeGreaterThan: 0")
    unit = raw.get("unit", "rows")
    if unit not in UNITS:
        errors.add(f"{path}.unit", _one_of(unit, UNITS))
    severity = raw.get("severity", "error")
    if severity not in SEVERITIES:
        errors.add(f"{path}.severity", _one_of(severity, SEVERITIES))
    _check_arguments(metric, arguments, path, errors)
    name = raw.get("name") or raw.get("id")
    return Rule(
        str(kind),
        metric,
        operator,
        threshold,
        str(unit),
        str(severity),
        str(name) if name else None,
        arguments,
        query if isinstance(query, str) else None,
        path,
    )


def _check_arguments(metric: Any, args: dict[str, Any], path: str, errors: _Errors) -> None:
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
            if args.get(key) is not None and not _number(args[key]):
                errors.add(f"{where}.{key}", f"must be a number, not {args[key]!r}")
    elif metric == "unitMismatch":
        unit = args.get("unit")
        if unit not in UNIT_FACTORS and not _number(args.get("factor")):
            errors.add(
                f"{where}.unit",
                f"{unit!r} is not one of {', '.join(UNIT_FACTORS)} (or give a numeric factor)",
            )
        if not _number(args.get("maximum")) or args["maximum"] <= 0:
            errors.add(f"{where}.maximum", "must be the largest plausible value, > 0")
    elif metric == "missingJoins":
        to = args.get("to")
        if not isinstance(to, str) or to.count(".") != 1:
            errors.add(f"{where}.to", "must name another table's column as table.column")


def _property(raw: Any, path: str, errors: _Errors) -> Property | None:
    if not isinstance(raw, dict):
        errors.add(path, "must be a mapping")
        return None
    name = _str(raw, "name", f"{path}.", errors, required=True)
    logical = raw.get("logicalType")
    if logical is None:
        errors.add(f"{path}.logicalType", "is required")
    elif logical not in LOGICAL_TYPES:
        errors.add(f"{path}.logicalType", _one_of(logical, LOGICAL_TYPES))
    for key in ("required", "unique"):
        if key in raw and not isinstance(raw[key], bool):
            errors.add(f"{path}.{key}", f"must be true or false, not {raw[key]!r}")
    rules = [
        _rule(r, f"{path}.quality[{i}]", errors)
        for i, r in enumerate(_list(raw, "quality", f"{path}.", errors))
    ]
    physical = raw.get("physicalType")
    classification = raw.get("classification")
    options = raw.get("logicalTypeOptions") or {}
    if not isinstance(options, dict):
        errors.add(f"{path}.logicalTypeOptions", "must be a mapping")
        options = {}
    for key in ("minimum", "maximum"):
        if options.get(key) is not None and not _number(options[key]):
            errors.add(
                f"{path}.logicalTypeOptions.{key}", f"must be a number, not {options[key]!r}"
            )
    if options.get("pattern") is not None:
        try:
            re.compile(str(options["pattern"]))
        except re.error as exc:
            errors.add(
                f"{path}.logicalTypeOptions.pattern",
                f"{options['pattern']!r} is not a valid regex: {exc}",
            )
    return Property(
        name,
        str(logical),
        str(physical) if physical else None,
        raw.get("required") is True,
        raw.get("unique") is True,
        str(classification) if classification else None,
        tuple(r for r in rules if r),
        dict(options),
    )


def _server(raw: Any, path: str, errors: _Errors) -> Server | None:
    if not isinstance(raw, dict):
        errors.add(path, "must be a mapping")
        return None
    name = _str(raw, "server", f"{path}.", errors, required=True)
    kind = raw.get("type")
    if kind not in SERVER_TYPES:
        errors.add(f"{path}.type", _one_of(kind, SERVER_TYPES))
        return None
    for key in SECRET_KEYS:
        if key in raw:
            errors.add(
                f"{path}.{key}",
                "credentials do not belong in a contract: name a connection a platform-admin "
                "declared (andon connection list)",
            )
    if kind in FILE_SERVER_TYPES:
        location = _str(raw, "path", f"{path}.", errors, required=True)
        fmt = raw.get("format", "csv" if kind == "csv" else "parquet")
        if kind != "duckdb" and fmt not in FORMATS:
            errors.add(f"{path}.format", _one_of(fmt, FORMATS))
        return Server(name, str(kind), location, str(fmt))
    connection = server_connection(raw)
    if not isinstance(connection, str) or not connection:
        errors.add(
            path,
            "name a connection in customProperties ({property: connection, value: NAME}); "
            "a platform-admin declares them (andon connection list)",
        )
        connection = ""
    host = _str(raw, "host", f"{path}.", errors, required=False)
    database = _str(raw, "database", f"{path}.", errors, required=False)
    schema = _str(raw, "schema", f"{path}.", errors, required=False) or "public"
    port = raw.get("port", 0)
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        errors.add(f"{path}.port", f"must be a port number (1 to 65535), not {port!r}")
        port = 0
    return Server(name, str(kind), "", "", host, port, database, schema, connection)


def _freshness(raw: Any, path: str, errors: _Errors, tables: dict[str, SchemaObject]) -> Any:
    if not isinstance(raw, dict):
        errors.add(path, "must be a mapping")
        return None
    if raw.get("property") != "freshness":
        return None
    value: Any = raw.get("value")
    unit, element = raw.get("unit", "h"), raw.get("element")
    if not _number(value) or value <= 0:
        errors.add(f"{path}.value", f"must be a positive number, not {value!r}")
    if unit not in FRESHNESS_UNITS:
        errors.add(f"{path}.unit", _one_of(unit, tuple(FRESHNESS_UNITS)))
    if not isinstance(element, str) or element.count(".") != 1:
        errors.add(f"{path}.element", "must name the timestamp column as table.column")
        return None
    table, column = element.split(".")
    obj = tables.get(table)
    if obj is None:
        errors.add(f"{path}.element", f"no schema object named {table!r}")
        return None
    prop = obj.prop(column)
    if prop is None:
        errors.add(f"{path}.element", f"{table!r} declares no property {column!r}")
    elif prop.logical_type not in ("timestamp", "date"):
        errors.add(f"{path}.element", f"{element} is {prop.logical_type}, not a timestamp")
    if not _number(value) or unit not in FRESHNESS_UNITS:
        return None
    return Freshness(table, column, int(value * FRESHNESS_UNITS[unit]), float(value), unit)


def parse_contract(text: str, *, source: str = "contract") -> Contract:
    """Parse ODCS v3 YAML; raise :class:`Invalid` listing every problem at once."""
    import yaml  # type: ignore[import-untyped]

    try:
        doc = load_bounded(text, source=source)
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
    errors = _Errors()
    api = doc.get("apiVersion")
    if not (isinstance(api, str) and re.fullmatch(r"v3\.\d+\.\d+", api)):
        errors.add("apiVersion", f"{api!r} is not an ODCS v3 version such as v3.0.2")
    if doc.get("kind") != "DataContract":
        errors.add("kind", f"{doc.get('kind')!r} must be DataContract")
    cid = _str(doc, "id", "", errors, required=True)
    version = _str(doc, "version", "", errors, required=True)
    status = _str(doc, "status", "", errors, required=True)
    servers = [
        _server(s, f"servers[{i}]", errors) for i, s in enumerate(_list(doc, "servers", "", errors))
    ]
    if not doc.get("servers"):
        errors.add("servers", "at least one server is required to run checks")
    names = [s.name for s in servers if s]
    if len(set(names)) != len(names):
        errors.add("servers", "server names must be unique")
    objects: list[SchemaObject] = []
    raw_schema = _list(doc, "schema", "", errors)
    if not raw_schema:
        errors.add("schema", "at least one schema object is required")
    for i, raw in enumerate(raw_schema):
        path = f"schema[{i}]"
        if not isinstance(raw, dict):
            errors.add(path, "must be a mapping")
            continue
        name = _str(raw, "name", f"{path}.", errors, required=True)
        if name and not _NAME.match(name):
            errors.add(f"{path}.name", f"{name!r} must be letters, digits and _")
        props = [
            _property(p, f"{path}.properties[{j}]", errors)
            for j, p in enumerate(_list(raw, "properties", f"{path}.", errors))
        ]
        seen = [p.name for p in props if p]
        for dup in sorted({n for n in seen if seen.count(n) > 1}):
            errors.add(f"{path}.properties", f"property {dup!r} is declared twice")
        rules = [
            _rule(r, f"{path}.quality[{j}]", errors)
            for j, r in enumerate(_list(raw, "quality", f"{path}.", errors))
        ]
        physical = raw.get("physicalName") or name
        objects.append(
            SchemaObject(
                name, str(physical), tuple(p for p in props if p), tuple(r for r in rules if r)
            )
        )
    tables = {o.name: o for o in objects}
    if len(tables) != len(objects):
        errors.add("schema", "schema object names must be unique")
    _check_references(objects, tables, errors)
    fresh = [
        _freshness(s, f"slaProperties[{i}]", errors, tables)
        for i, s in enumerate(_list(doc, "slaProperties", "", errors))
    ]
    if errors.items:
        raise Invalid(
            f"{source} is not a valid ODCS v3 contract ({len(errors.items)} "
            f"{'problem' if len(errors.items) == 1 else 'problems'}):\n  "
            + "\n  ".join(errors.items),
            errors=errors.items,
        )
    return Contract(
        cid,
        version,
        status,
        tuple(s for s in servers if s),
        tuple(objects),
        tuple(f for f in fresh if f),
        doc,
    )


def _check_references(
    objects: list[SchemaObject], tables: dict[str, SchemaObject], errors: _Errors
) -> None:
    for obj in objects:
        for prop in obj.properties:
            for rule in prop.quality:
                to = rule.arguments.get("to") if rule.metric == "missingJoins" else None
                if not isinstance(to, str) or to.count(".") != 1:
                    continue
                table, column = to.split(".")
                if table not in tables or tables[table].prop(column) is None:
                    errors.add(f"{rule.path}.arguments.to", f"{to!r} is not a declared column")


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
