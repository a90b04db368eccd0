"""andon's pre-standard contract dialect, and its rewrite into the ODCS standard's shapes.

Before it read the Open Data Contract Standard as written, andon accepted a dialect of its
own. :func:`legacy_changes` lists where a loaded contract still uses it, one line per place
(``servers[0].type: parquet -> local with format parquet``), and :func:`upgrade` returns the
contract rewritten into the standard's shapes with the same lines. Both are pure functions
on the loaded mapping (no I/O). What changes:

=======================================  =====================================================
andon's dialect                          the standard's shape
=======================================  =====================================================
server ``type: parquet`` / ``csv``       ``type: local`` with ``format: parquet`` / ``csv``
server ``type: local`` without format    ``format: parquet`` (andon's default) added
server ``type: duckdb`` with ``path``    ``database`` (the file); a ``format`` is dropped
server ``type: spark``                   ``type: custom`` with customProperties
                                         ``{property: andonEngine, value: spark}``
postgres customProperties                ``{property: andonConnection, value: NAME}``;
``{property: connection, value: NAME}``  ``host``/``port``/``database`` filled from the
                                         connection when ``connection_address`` knows it,
                                         ``schema: public`` when missing
library rule without a threshold         ``mustBe: 0`` (andon's default), except ``rowCount``
``validValues`` at a rule's top level    ``arguments.validValues``
``outOfRange``, ``unitMismatch``         ``type: custom``, ``engine: andon``,
(and ``missingJoins`` not as below)      ``implementation: {metric, arguments, <threshold>,
                                         unit}``; ``name``, ``severity`` stay at the top
``missingJoins`` to ``table.column``     the property's ``relationships: [{to: ...}]``
with the default verdict (no threshold
or ``mustBe: 0``, rows, error)
SLA ``property: freshness``              ``latency``; unit ``m`` -> ``min``; no unit -> ``h``
``apiVersion: v3.0.x`` with v3.1         ``v3.1.0``
constructs (``metric``, ``arguments``,
``logicalType: timestamp``, relations)
=======================================  =====================================================

The threshold of a custom rule sits inside ``implementation``: the standard's schema (v3.1.0
and v3.2.0) allows no operator on a ``type: custom`` rule (``unevaluatedProperties``).
Everything else (descriptions, tags, customProperties, unknown fields) is kept as it was, in
its place; new keys go where a person would write them (``format`` after ``path``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

ConnectionAddress = Callable[[str], tuple[str, int, str] | None]
"""A connection's name -> its ``(host, port, database)``, or ``None`` when unknown."""

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
ANDON_METRICS = ("outOfRange", "unitMismatch", "missingJoins")
COUNTING_METRICS = ("nullValues", "missingValues", "invalidValues", "duplicateValues")
_ADDRESS = ("host", "port", "database")
_ADDRESS_AFTER = {"host": ("type",), "port": ("host", "type"), "database": ("port", "host", "type")}
_JOIN_KEYS = {"name", "id", "type", "metric", "arguments", "severity", "unit", "mustBe"}
_V30 = re.compile(r"v3\.0\.\d+")


def legacy_changes(doc: dict[str, Any]) -> list[str]:
    """Where ``doc`` uses andon's pre-standard dialect: one line per change, with its path."""
    return upgrade(doc)[1]


def upgrade(
    doc: dict[str, Any], *, connection_address: ConnectionAddress | None = None
) -> tuple[dict[str, Any], list[str]]:
    """``doc`` rewritten into the standard's shapes, and one line per change.

    Always a new mapping (a deep copy); equal to ``doc``, with no lines, when there is nothing
    to upgrade. Upgrading the result again changes nothing. ``connection_address`` fills the
    ``host``, ``port`` and ``database`` a postgres server lacks from the connection it names;
    without it (or when it returns ``None``) they stay missing and a line says to fill them in.
    """
    out = copy.deepcopy(doc)
    if not isinstance(out, dict):
        return out, []
    rewrite = _Rewrite(connection_address)
    before = _v31_constructs(out)
    servers = out.get("servers")
    if isinstance(servers, list):
        for i, server in enumerate(servers):
            if isinstance(server, dict):
                rewrite.server(server, f"servers[{i}]")
    schema = out.get("schema")
    if isinstance(schema, list):
        for i, obj in enumerate(schema):
            if isinstance(obj, dict):
                rewrite.schema_object(obj, f"schema[{i}]")
    sla = out.get("slaProperties")
    if isinstance(sla, list):
        for i, entry in enumerate(sla):
            if isinstance(entry, dict):
                rewrite.sla(entry, f"slaProperties[{i}]")
    api = out.get("apiVersion")
    uses = sorted(set(before) | set(_v31_constructs(out)))
    if isinstance(api, str) and _V30.fullmatch(api) and uses:
        out["apiVersion"] = "v3.1.0"
        rewrite.changes.append(
            f"apiVersion: {api} -> v3.1.0 (it uses {', '.join(uses)}, which {api} lacks)"
        )
    return out, rewrite.changes


def _insert(d: dict[str, Any], key: str, value: Any, *, after: tuple[str, ...]) -> None:
    """Set ``d[key]``; a new key goes right after the first of ``after`` that ``d`` has."""
    if key in d:
        d[key] = value
        return
    anchor = next((a for a in after if a in d), None)
    items = list(d.items())
    at = len(items) if anchor is None else [k for k, _ in items].index(anchor) + 1
    items.insert(at, (key, value))
    d.clear()
    d.update(items)


def _rename(d: dict[str, Any], old: str, new: str) -> None:
    """Rename ``d[old]`` to ``new`` in the same place."""
    items = [(new if k == old else k, v) for k, v in d.items()]
    d.clear()
    d.update(items)


def _v31_constructs(doc: dict[str, Any]) -> list[str]:
    """The v3.1 constructs ``doc``'s schema uses (v3.0.x has none of them)."""
    found: set[str] = set()

    def rules(holder: dict[str, Any]) -> None:
        for rule in holder.get("quality") or []:
            if isinstance(rule, dict):
                found.update(k for k in ("metric", "arguments") if k in rule)
        if holder.get("relationships"):
            found.add("relationships")

    schema = doc.get("schema")
    for obj in schema if isinstance(schema, list) else []:
        if not isinstance(obj, dict):
            continue
        rules(obj)
        props = obj.get("properties")
        for prop in props if isinstance(props, list) else []:
            if isinstance(prop, dict):
                rules(prop)
                if prop.get("logicalType") in ("timestamp", "time"):
                    found.add(f"logicalType {prop['logicalType']}")
    return sorted(found)


class _Rewrite:
    """Rewrites the parts of one document in place, collecting the change lines."""

    def __init__(self, connection_address: ConnectionAddress | None) -> None:
        self.address = connection_address
        self.changes: list[str] = []

    def server(self, s: dict[str, Any], path: str) -> None:
        kind = s.get("type")
        if kind in ("parquet", "csv"):
            fmt = s.get("format", kind)
            s["type"] = "local"
            _insert(s, "format", fmt, after=("path", "type"))
            self.changes.append(f"{path}.type: {kind} -> local with format {fmt}")
        elif kind == "local" and "format" not in s:
            _insert(s, "format", "parquet", after=("path", "type"))
            self.changes.append(f"{path}.format: added parquet (andon's default for local)")
        elif kind == "duckdb":
            if "path" in s and "database" not in s:
                _rename(s, "path", "database")
                self.changes.append(f"{path}.path -> database (the DuckDB file)")
            if "format" in s:
                del s["format"]
                self.changes.append(f"{path}.format: dropped (a duckdb server has none)")
        elif kind == "spark":
            s["type"] = "custom"
            if "format" not in s:
                _insert(s, "format", "parquet", after=("path", "type"))
            props = s.get("customProperties")
            if not isinstance(props, list):
                props = []
            props.append({"property": "andonEngine", "value": "spark"})
            s["customProperties"] = props
            self.changes.append(
                f"{path}.type: spark -> custom with format {s['format']} and "
                "customProperties andonEngine: spark"
            )
        elif kind in ("postgresql", "postgres"):
            self.postgres(s, path)

    def postgres(self, s: dict[str, Any], path: str) -> None:
        name: Any = None
        props = s.get("customProperties")
        for i, prop in enumerate(props if isinstance(props, list) else []):
            if not isinstance(prop, dict):
                continue
            if prop.get("property") == "connection":
                prop["property"] = "andonConnection"
                self.changes.append(
                    f"{path}.customProperties[{i}].property: connection -> andonConnection"
                )
            if prop.get("property") == "andonConnection":
                name = prop.get("value")
        missing = [k for k in _ADDRESS if s.get(k) in (None, "")]
        found = self.address(name) if missing and self.address and isinstance(name, str) else None
        if missing and found:
            for key, value in zip(_ADDRESS, found, strict=True):
                if key in missing:
                    _insert(s, key, value, after=_ADDRESS_AFTER[key])
            host, port, database = found
            self.changes.append(
                f"{path}: {', '.join(missing)} filled from connection {name!r} "
                f"({host}:{port}/{database})"
            )
        elif missing:
            if not isinstance(name, str) or not name:
                why = "it names no connection"
            elif self.address is None:
                why = f"connection {name!r} was not looked up"
            else:
                why = f"connection {name!r} is not known here"
            self.changes.append(
                f"{path}: fill in {', '.join(missing)} yourself (the standard requires them; {why})"
            )
        if s.get("schema") in (None, ""):
            _insert(s, "schema", "public", after=("database", "port", "host", "type"))
            self.changes.append(f"{path}.schema: added public (andon's default)")

    def schema_object(self, obj: dict[str, Any], path: str) -> None:
        if isinstance(obj.get("quality"), list):
            obj["quality"] = self.rules(obj["quality"], path, None)
        props = obj.get("properties")
        for i, prop in enumerate(props if isinstance(props, list) else []):
            if isinstance(prop, dict) and isinstance(prop.get("quality"), list):
                where = f"{path}.properties[{i}]"
                kept = self.rules(prop["quality"], where, prop)
                if kept or not prop["quality"]:
                    prop["quality"] = kept
                else:  # its last rule became a relationship
                    del prop["quality"]

    def rules(self, rules: list[Any], path: str, prop: dict[str, Any] | None) -> list[Any]:
        kept: list[Any] = []
        for j, rule in enumerate(rules):
            where = f"{path}.quality[{j}]"
            if not isinstance(rule, dict):
                kept.append(rule)
                continue
            kind = rule.get("type", "library" if "metric" in rule else None)
            metric = rule.get("metric")
            if kind != "library":
                kept.append(rule)
            elif (
                metric == "missingJoins"
                and prop is not None
                and self.relationship(rule, where, prop)
            ):
                continue
            elif metric in ANDON_METRICS:
                kept.append(self.custom(rule, where))
            else:
                self.library(rule, where)
                kept.append(rule)
        return kept

    def library(self, rule: dict[str, Any], where: str) -> None:
        metric = rule.get("metric")
        if "validValues" in rule and metric == "invalidValues":
            args = rule.get("arguments")
            if args is None or (isinstance(args, dict) and "validValues" not in args):
                args = dict(args or {})
                args["validValues"] = rule.pop("validValues")
                _insert(rule, "arguments", args, after=("metric", "type"))
                self.changes.append(f"{where}.validValues -> arguments.validValues")
        if metric in COUNTING_METRICS and not any(op in rule for op in OPERATORS):
            _insert(rule, "mustBe", 0, after=("arguments", "metric", "type"))
            self.changes.append(f"{where}.mustBe: added 0 (andon's default threshold)")

    def relationship(self, rule: dict[str, Any], where: str, prop: dict[str, Any]) -> bool:
        """Turn a default-verdict ``missingJoins`` into a property relationship, if it is one."""
        args = rule.get("arguments")
        if not isinstance(args, dict):
            return False
        to = args.get("to")
        ops = [op for op in OPERATORS if op in rule]
        default = (
            isinstance(to, str)
            and to.count(".") == 1
            and set(args) == {"to"}
            and (not ops or (ops == ["mustBe"] and rule["mustBe"] == 0))
            and not isinstance(rule.get("mustBe"), bool)
            and rule.get("unit", "rows") == "rows"
            and rule.get("severity", "error") == "error"
            and set(rule) <= _JOIN_KEYS
        )
        related = prop.get("relationships", [])
        if not default or not isinstance(related, list):
            return False
        if not any(isinstance(r, dict) and r.get("to") == to for r in related):
            related.append({"to": to})
        _insert(prop, "relationships", related, after=("quality",))
        named = rule.get("name") or rule.get("id")
        self.changes.append(
            f"{where}: missingJoins to {to} -> relationships [{{to: {to}}}]"
            + (f" (the rule's name {named!r} goes with it)" if named else "")
        )
        return True

    def custom(self, rule: dict[str, Any], where: str) -> dict[str, Any]:
        """An andon-only rule as ``type: custom, engine: andon`` (its threshold inside)."""
        metric = rule["metric"]
        implementation: dict[str, Any] = {"metric": metric}
        if "arguments" in rule:
            implementation["arguments"] = rule["arguments"]
        ops = [op for op in OPERATORS if op in rule]
        for op in ops:
            implementation[op] = rule[op]
        if not ops:
            implementation["mustBe"] = 0
        if "unit" in rule:
            implementation["unit"] = rule["unit"]
        moved = {"arguments", "unit", *ops}
        out: dict[str, Any] = {}
        for key, value in rule.items():
            if key in ("type", "metric") and "type" not in out:
                out.update(type="custom", engine="andon")
            if key == "metric":
                out["implementation"] = implementation
            elif key not in moved and key != "type":
                out[key] = value
        self.changes.append(
            f"{where}: {metric} -> type custom, engine andon, threshold in implementation "
            f"(the standard has no {metric} metric)"
        )
        return out

    def sla(self, entry: dict[str, Any], path: str) -> None:
        if entry.get("property") != "freshness":
            return
        entry["property"] = "latency"
        self.changes.append(f"{path}.property: freshness -> latency")
        if "unit" not in entry:
            _insert(entry, "unit", "h", after=("value", "property"))
            self.changes.append(f"{path}.unit: added h (andon's default for freshness)")
        elif entry["unit"] == "m":
            entry["unit"] = "min"
            self.changes.append(f"{path}.unit: m -> min (andon's m meant minutes)")
