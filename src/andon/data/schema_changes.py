"""Schema changes and the rules that call them breaking: pure functions, no database.

Two comparisons:

* :func:`contract_changes` between two versions of a contract (the active one and the one
  being applied);
* :func:`live_changes` between a contract's schema object and the columns a snapshot saw
  (``DatasetVersion.columns``: ``[name, ibis type]`` pairs such as ``["quantity", "int32"]``).

Each change names its table, column, kind, old and new value, and whether it breaks. A change
breaks when data or code that honoured the old contract can fail under the new one:

=========================  ========  ==========================================================
kind                       breaking  when
=========================  ========  ==========================================================
table_removed              yes       a schema object disappears
table_added                no        a new schema object
physical_name_changed      yes       ``physicalName`` differs (readers look in another place)
column_removed             yes       a property disappears
column_renamed             yes       one property removed and one added at the same position
                                     with the same logical and physical type
column_added               no        a new optional property (or an undeclared live column)
column_added_required      yes       a new property with ``required: true``
type_narrowed              yes       logical or physical type can hold fewer values
                                     (``string -> integer``, ``bigint -> int``,
                                     ``double -> float``, ``varchar(50) -> varchar(20)``,
                                     ``maxLength`` lowered)
type_widened               no        the new type holds every old value (``int -> bigint``,
                                     ``integer -> number``, ``varchar(20) -> varchar(50)``)
type_changed               yes       neither holds the other (``object -> array``); for a live
                                     column: its type does not conform to the declared one
made_required              yes       ``required`` false -> true
made_optional              no        ``required`` true -> false
unique_added               yes       ``unique`` false -> true
unique_removed             no        ``unique`` true -> false
allowed_value_removed      yes       a value left an ``invalidValues`` rule's ``validValues``
allowed_value_added        no        a value joined ``validValues``
range_narrowed             yes       ``logicalTypeOptions`` minimum raised or maximum lowered
range_widened              no        minimum lowered or maximum raised (or dropped)
pattern_changed            yes       ``logicalTypeOptions.pattern`` differs (old values may
                                     not match)
classification_changed     no        ``classification`` differs
description_changed        no        a description differs (contract, table or column)
quality_changed            no        other ``quality[]`` rules added, removed or changed
metadata_changed           no        any other top-level field (servers, SLA, name, ...)
=========================  ========  ==========================================================

Renames cannot be told apart from a drop plus an add by names alone; the rule above (same
position, same types) is the heuristic, and the change says so in its ``detail``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from andon.data.column_types import compare_logical, compare_physical, live_logical
from andon.data.contracts import Contract, Property, SchemaObject

BREAKING_KINDS = frozenset(
    {
        "table_removed",
        "physical_name_changed",
        "column_removed",
        "column_renamed",
        "column_added_required",
        "type_narrowed",
        "type_changed",
        "made_required",
        "unique_added",
        "allowed_value_removed",
        "range_narrowed",
        "pattern_changed",
    }
)
"""Change kinds that break consumers or producers of the old contract."""

NON_BREAKING_KINDS = frozenset(
    {
        "table_added",
        "column_added",
        "type_widened",
        "made_optional",
        "unique_removed",
        "allowed_value_added",
        "range_widened",
        "classification_changed",
        "description_changed",
        "quality_changed",
        "metadata_changed",
    }
)
"""Change kinds that keep every old consumer and producer working."""


@dataclass(frozen=True)
class Change:
    """One difference between two schemas."""

    kind: str
    table: str | None
    column: str | None
    old: Any
    new: Any
    detail: str

    @property
    def breaking(self) -> bool:
        """Whether this kind of change breaks (see the module's table)."""
        return self.kind in BREAKING_KINDS

    @property
    def where(self) -> str:
        """``table.column``, ``table`` or ``contract``."""
        if self.table and self.column:
            return f"{self.table}.{self.column}"
        return self.table or "contract"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "breaking": self.breaking,
            "table": self.table,
            "column": self.column,
            "old": self.old,
            "new": self.new,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Change:
        """The inverse of :meth:`as_dict` (``breaking`` is derived, not read)."""
        return cls(doc["kind"], doc["table"], doc["column"], doc["old"], doc["new"], doc["detail"])


def breaking(changes: list[Change]) -> list[Change]:
    """The breaking changes among ``changes``."""
    return [c for c in changes if c.breaking]


_VERDICT_KIND = {"widened": "type_widened", "narrowed": "type_narrowed", "changed": "type_changed"}


# --------------------------------------------------------------------------- contracts


def _description(raw: dict[str, Any] | None) -> Any:
    return None if raw is None else raw.get("description")


def _raw_objects(contract: Contract) -> dict[str, dict[str, Any]]:
    out = {}
    for raw in contract.document.get("schema") or []:
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            out[raw["name"]] = raw
    return out


def _raw_props(raw_object: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    out = {}
    for raw in (raw_object or {}).get("properties") or []:
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            out[raw["name"]] = raw
    return out


def _valid_values(prop: Property) -> set[str] | None:
    """The union of ``validValues`` of the column's invalidValues rules (None: no such rule)."""
    found: set[str] | None = None
    for rule in prop.quality:
        values = rule.arguments.get("validValues") if rule.metric == "invalidValues" else None
        if isinstance(values, list):
            found = (found or set()) | {str(v) for v in values}
    return found


def _other_rules(prop_or_object: Property | SchemaObject) -> list[str]:
    """Quality rules other than allowed values, as comparable text (paths left out)."""
    out = []
    for r in prop_or_object.quality:
        args = {k: v for k, v in r.arguments.items() if k != "validValues"}
        if r.metric == "invalidValues" and "validValues" in r.arguments and not args:
            continue
        out.append(repr((r.type, r.metric, r.operator, r.threshold, r.unit, r.severity, args)))
    return sorted(out)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _property_changes(
    table: str, old: Property, new: Property, raw_old: Any, raw_new: Any
) -> list[Change]:
    col = old.name
    out: list[Change] = []

    def add(kind: str, a: Any, b: Any, detail: str) -> None:
        out.append(Change(kind, table, col, a, b, detail))

    verdict = compare_logical(old.logical_type, new.logical_type)
    if verdict != "same":
        add(_VERDICT_KIND[verdict], old.logical_type, new.logical_type, f"logicalType {verdict}")
    if old.physical_type and new.physical_type:
        verdict = compare_physical(old.physical_type, new.physical_type)
        if verdict != "same":
            add(
                _VERDICT_KIND[verdict],
                old.physical_type,
                new.physical_type,
                f"physicalType {verdict}",
            )
    elif old.physical_type != new.physical_type:
        # Declaring a physical type where there was none pins values down; dropping one frees them.
        kind = "type_narrowed" if new.physical_type else "type_widened"
        add(kind, old.physical_type, new.physical_type, "physicalType declared or dropped")
    if new.required and not old.required:
        add("made_required", False, True, "nulls are no longer allowed")
    if old.required and not new.required:
        add("made_optional", True, False, "nulls are now allowed")
    if new.unique and not old.unique:
        add("unique_added", False, True, "duplicates are no longer allowed")
    if old.unique and not new.unique:
        add("unique_removed", True, False, "duplicates are now allowed")
    a, b = _valid_values(old), _valid_values(new)
    if a is not None or b is not None:
        if b is not None and (a is None or a - b):
            removed = sorted(a - b) if a is not None else None
            add(
                "allowed_value_removed",
                sorted(a) if a else None,
                sorted(b),
                f"no longer allowed: {', '.join(removed)}" if removed else "values now restricted",
            )
        if a is not None and (b is None or b - a):
            added = sorted(b - a) if b is not None else None
            add(
                "allowed_value_added",
                sorted(a),
                sorted(b) if b else None,
                f"now allowed: {', '.join(added)}" if added else "any value now allowed",
            )
    out.extend(_options_changes(table, col, old.options, new.options))
    if (old.classification or None) != (new.classification or None):
        add("classification_changed", old.classification, new.classification, "classification")
    if _description(raw_old) != _description(raw_new):
        add("description_changed", _description(raw_old), _description(raw_new), "description")
    if _other_rules(old) != _other_rules(new):
        add("quality_changed", len(old.quality), len(new.quality), "quality rules changed")
    return out


def _options_changes(
    table: str, col: str, old: dict[str, Any], new: dict[str, Any]
) -> list[Change]:
    out = []
    for key, tighter in (("minimum", 1), ("maximum", -1), ("minLength", 1), ("maxLength", -1)):
        a, b = _number(old.get(key)), _number(new.get(key))
        if a == b:
            continue
        if b is None:
            narrowed = False  # the bound was dropped
        elif a is None:
            narrowed = True  # a new bound
        else:
            narrowed = (b - a) * tighter > 0
        if key.endswith("Length"):
            kind = "type_narrowed" if narrowed else "type_widened"
        else:
            kind = "range_narrowed" if narrowed else "range_widened"
        out.append(Change(kind, table, col, old.get(key), new.get(key), f"{key} changed"))
    if old.get("pattern") != new.get("pattern"):
        kind = "pattern_changed" if new.get("pattern") is not None else "range_widened"
        out.append(Change(kind, table, col, old.get("pattern"), new.get("pattern"), "pattern"))
    return out


def _renames(old: SchemaObject, new: SchemaObject) -> dict[str, str]:
    """Old name -> new name for columns removed and added at the same position, same types."""
    old_names = {p.name for p in old.properties}
    new_names = {p.name for p in new.properties}
    out = {}
    for i, prop in enumerate(old.properties):
        if prop.name in new_names or i >= len(new.properties):
            continue
        candidate = new.properties[i]
        if (
            candidate.name not in old_names
            and candidate.logical_type == prop.logical_type
            and candidate.physical_type == prop.physical_type
        ):
            out[prop.name] = candidate.name
    return out


def _object_changes(
    old: SchemaObject, new: SchemaObject, raw_old: Any, raw_new: Any
) -> list[Change]:
    table = old.name
    out: list[Change] = []
    if old.physical_name != new.physical_name:
        out.append(
            Change(
                "physical_name_changed",
                table,
                None,
                old.physical_name,
                new.physical_name,
                "readers look for the table under another name",
            )
        )
    if _description(raw_old) != _description(raw_new):
        out.append(
            Change(
                "description_changed",
                table,
                None,
                _description(raw_old),
                _description(raw_new),
                "description",
            )
        )
    if _other_rules(old) != _other_rules(new):
        out.append(
            Change(
                "quality_changed",
                table,
                None,
                len(old.quality),
                len(new.quality),
                "table quality rules changed",
            )
        )
    renames = _renames(old, new)
    renamed_to = set(renames.values())
    props_old, props_new = _raw_props(raw_old), _raw_props(raw_new)
    new_by_name = {p.name: p for p in new.properties}
    for prop in old.properties:
        if prop.name in renames:
            out.append(
                Change(
                    "column_renamed",
                    table,
                    prop.name,
                    prop.name,
                    renames[prop.name],
                    "removed and added at the same position with the same type",
                )
            )
        elif prop.name not in new_by_name:
            out.append(
                Change("column_removed", table, prop.name, prop.logical_type, None, "removed")
            )
        else:
            out.extend(
                _property_changes(
                    table,
                    prop,
                    new_by_name[prop.name],
                    props_old.get(prop.name),
                    props_new.get(prop.name),
                )
            )
    old_names = {p.name for p in old.properties}
    for prop in new.properties:
        if prop.name in old_names or prop.name in renamed_to:
            continue
        kind = "column_added_required" if prop.required else "column_added"
        detail = "new required column" if prop.required else "new optional column"
        out.append(Change(kind, table, prop.name, None, prop.logical_type, detail))
    return out


_VERSIONING_KEYS = frozenset({"schema", "version", "status", "description"})


def contract_changes(old: Contract, new: Contract) -> list[Change]:
    """Every change from contract version ``old`` to ``new``, in schema order."""
    out: list[Change] = []
    if old.document.get("description") != new.document.get("description"):
        out.append(
            Change(
                "description_changed",
                None,
                None,
                old.document.get("description"),
                new.document.get("description"),
                "contract description",
            )
        )
    keys = (set(old.document) | set(new.document)) - _VERSIONING_KEYS
    for key in sorted(keys):
        if old.document.get(key) != new.document.get(key):
            out.append(Change("metadata_changed", None, None, key, key, f"{key} changed"))
    raw_old, raw_new = _raw_objects(old), _raw_objects(new)
    new_tables = {o.name: o for o in new.schema}
    for obj in old.schema:
        if obj.name not in new_tables:
            out.append(Change("table_removed", obj.name, None, obj.name, None, "removed"))
            continue
        out.extend(
            _object_changes(obj, new_tables[obj.name], raw_old.get(obj.name), raw_new.get(obj.name))
        )
    old_tables = {o.name for o in old.schema}
    for obj in new.schema:
        if obj.name not in old_tables:
            out.append(Change("table_added", obj.name, None, None, obj.name, "new table"))
    return out


# --------------------------------------------------------------------------- live schema


def _conforms(declared: str, actual: str | None) -> bool:
    """The schema check's rule (``andon.data.checks.conforms``) on logical names."""
    return (
        not declared  # no logicalType: no type to hold the table to
        or actual == declared
        or (declared == "number" and actual == "integer")
        or (declared, actual) in (("map", "object"), ("vector", "array"))
    )


def live_changes(
    declared: SchemaObject, columns: list[list[str]] | list[tuple[str, str]]
) -> list[Change]:
    """How a table's live ``columns`` (``[name, ibis type]``) depart from its declaration.

    A declared column the table lacks is ``column_removed`` (or ``column_renamed`` when an
    undeclared column of a conforming type sits at its position); a live type that cannot hold
    the declared logical type's values, or holds wider ones, is ``type_changed`` (an ``int32``
    column declared ``number`` conforms: every integer is a number); an undeclared live column
    is ``column_added`` (not breaking).
    """
    table = declared.name
    live = [(str(name), str(dtype)) for name, dtype in columns]
    live_types = dict(live)
    declared_names = {p.name for p in declared.properties}
    out: list[Change] = []
    renamed_to: set[str] = set()
    for i, prop in enumerate(declared.properties):
        if prop.name in live_types:
            actual = live_logical(live_types[prop.name])
            if not _conforms(prop.logical_type, actual):
                out.append(
                    Change(
                        "type_changed",
                        table,
                        prop.name,
                        prop.logical_type,
                        live_types[prop.name],
                        f"declared {prop.logical_type}, the table holds {live_types[prop.name]}",
                    )
                )
            continue
        candidate = live[i] if i < len(live) else None
        if (
            candidate is not None
            and candidate[0] not in declared_names
            and live_logical(candidate[1]) == prop.logical_type
        ):
            renamed_to.add(candidate[0])
            out.append(
                Change(
                    "column_renamed",
                    table,
                    prop.name,
                    prop.name,
                    candidate[0],
                    "the table lacks it and holds an undeclared column of its type at its place",
                )
            )
        else:
            out.append(
                Change(
                    "column_removed",
                    table,
                    prop.name,
                    prop.logical_type,
                    None,
                    "the table lacks this declared column",
                )
            )
    for name, dtype in live:
        if name not in declared_names and name not in renamed_to:
            out.append(Change("column_added", table, name, None, dtype, "undeclared column"))
    return out
