"""Relationships (ODCS v3.1): foreign keys between the tables of one contract.

The standard writes a foreign key two ways (``docs/references.md``):

* on a property, ``relationships: [{to: customers.customer_id}]`` (``from`` is the property);
* on a schema object, ``relationships: [{from: orders.customer_id, to: customers.id}]``, or
  with lists of equal length for a composite key
  (``from: [items.order_id, items.sku]``, ``to: [stock.order_id, stock.sku]``).

A reference is ``table.column`` (by name, or by the objects' ``id``), or fully qualified by
ids, ``schema/<objectId>/properties/<propertyId>``. Each relationship becomes a referential
check: the rows whose non-null key has no match in the referenced columns are counted
(``mustBe: 0`` rows, severity ``error``). andon's older ``missingJoins`` rule is the same
check with its own threshold. A reference to another file (``other.yaml#...``) or to a nested
property is reported ``not_checked``; one to a table or column the contract does not declare
is an error before any query runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from andon.data.problems import Problems

if TYPE_CHECKING:
    from andon.data.contracts import SchemaObject, Unchecked


@dataclass(frozen=True)
class Relationship:
    """Every non-null ``from_columns`` key of ``from_table`` must exist in ``to_table``."""

    name: str
    from_table: str
    from_columns: tuple[str, ...]
    to_table: str
    to_columns: tuple[str, ...]
    path: str
    severity: str = "error"
    operator: str = "mustBe"
    threshold: Any = 0
    unit: str = "rows"
    kind: str = "foreignKey"  # or "missingJoins", andon's older spelling of the same check

    @property
    def target(self) -> str:
        """The referenced key as ``table.column`` (columns joined with ``+``)."""
        return f"{self.to_table}.{'+'.join(self.to_columns)}"


@dataclass(frozen=True)
class Declared:
    """A relationship as written, before its references are resolved."""

    path: str
    from_refs: tuple[str, ...]
    to_refs: tuple[str, ...]
    name: str | None = None
    severity: str = "error"
    operator: str = "mustBe"
    threshold: Any = 0
    unit: str = "rows"
    kind: str = "foreignKey"


def _refs(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str) and value.strip():
        return (value.strip(),)
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value)
    return None


def _entries(raw: Any, path: str, problems: Problems) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(path, entry)`` of each mapping in a ``relationships`` list; problems for the rest."""
    if raw is None:
        return
    if not isinstance(raw, list):
        problems.add(path, "must be a list")
        return
    for i, entry in enumerate(raw):
        if isinstance(entry, dict):
            yield f"{path}[{i}]", entry
        else:
            problems.add(f"{path}[{i}]", "must be a mapping")


def declared_on_property(
    raw: Any, path: str, table: str, column: str, problems: Problems
) -> list[Declared]:
    """A property's ``relationships`` (``to`` only: the property is the ``from``)."""
    found: list[Declared] = []
    for where, entry in _entries(raw, path, problems):
        if "from" in entry:
            problems.add(
                f"{where}.from", "a property's relationship takes only `to` (it is the from)"
            )
        to = _refs(entry.get("to"))
        if to is None or len(to) != 1:
            problems.add(f"{where}.to", "must name the referenced column as table.column")
            continue
        _check_type(entry, where, problems)
        found.append(Declared(where, (f"{table}.{column}",), to))
    return found


def declared_on_object(raw: Any, path: str, problems: Problems) -> list[Declared]:
    """A schema object's ``relationships`` (``from`` and ``to``, strings or equal-length lists)."""
    found: list[Declared] = []
    for where, entry in _entries(raw, path, problems):
        source, to = _refs(entry.get("from")), _refs(entry.get("to"))
        if source is None:
            problems.add(f"{where}.from", "must name the key as table.column (or a list of them)")
        if to is None:
            problems.add(f"{where}.to", "must name the referenced key as table.column (or a list)")
        if source is None or to is None:
            continue
        if isinstance(entry["from"], list) != isinstance(entry["to"], list) or len(source) != len(
            to
        ):
            problems.add(
                where,
                f"from and to must have the same number of columns ({len(source)} and {len(to)})",
            )
            continue
        _check_type(entry, where, problems)
        found.append(Declared(where, source, to))
    return found


def _check_type(entry: dict[str, Any], where: str, problems: Problems) -> None:
    kind = entry.get("type", "foreignKey")
    if kind != "foreignKey":
        problems.add(f"{where}.type", f"{kind!r} is not foreignKey (the one type ODCS defines)")


def _resolve(ref: str, objects: dict[str, SchemaObject]) -> tuple[str, str] | str:
    """``(table, column)`` of a reference, or why it cannot be checked here (prefixed ``!``
    when it is an error rather than out of andon's reach)."""
    if "#" in ref:
        return "it references another contract file"
    if ref.startswith("schema/"):
        parts = ref.split("/")
        if len(parts) != 4 or parts[2] != "properties":
            return f"!{ref!r} is not schema/<objectId>/properties/<propertyId>"
        obj = next((o for o in objects.values() if o.id == parts[1] or o.name == parts[1]), None)
        if obj is None:
            return f"!no schema object has id {parts[1]!r}"
        prop = next((p for p in obj.properties if p.id == parts[3] or p.name == parts[3]), None)
        if prop is None:
            return f"!{obj.name!r} has no property with id {parts[3]!r}"
        return obj.name, prop.name
    table, dot, column = ref.partition(".")
    if not dot or not column:
        return f"!{ref!r} is not table.column"
    obj = objects.get(table) or next((o for o in objects.values() if o.id == table), None)
    if obj is None:
        return f"!no schema object named {table!r}"
    if "." in column:
        return f"it references the nested property {column!r}, which andon does not read"
    prop = obj.prop(column) or next((p for p in obj.properties if p.id == column), None)
    if prop is None:
        return f"!{obj.name!r} declares no property {column!r}"
    return obj.name, prop.name


def resolve(
    declared: list[Declared], objects: dict[str, SchemaObject], problems: Problems
) -> tuple[list[Relationship], list[Unchecked]]:
    """The checkable relationships, and those andon cannot check with the reason."""
    from andon.data.contracts import Unchecked

    checkable: list[Relationship] = []
    unchecked: list[Unchecked] = []
    for item in declared:
        ends: list[list[tuple[str, str]]] = [[], []]
        reasons: list[str] = []
        for side, (key, refs) in enumerate((("from", item.from_refs), ("to", item.to_refs))):
            for j, ref in enumerate(refs):
                found = _resolve(ref, objects)
                if isinstance(found, tuple):
                    ends[side].append(found)
                elif found.startswith("!"):
                    where = f"{item.path}.{key}" + (f"[{j}]" if len(refs) > 1 else "")
                    problems.add(where, found[1:])
                else:
                    reasons.append(found)
        if reasons:
            label = item.name or f"{'+'.join(item.from_refs)}.foreignKey"
            unchecked.append(Unchecked(label, None, None, "foreignKey", reasons[0], item.path))
            continue
        if len(ends[0]) != len(item.from_refs) or len(ends[1]) != len(item.to_refs):
            continue  # an error was added above
        if len({t for t, _ in ends[0]}) != 1 or len({t for t, _ in ends[1]}) != 1:
            problems.add(item.path, "each side of a composite key must name columns of one table")
            continue
        from_table, to_table = ends[0][0][0], ends[1][0][0]
        from_cols = tuple(c for _, c in ends[0])
        to_cols = tuple(c for _, c in ends[1])
        name = item.name or f"{from_table}.{'+'.join(from_cols)}.foreignKey"
        checkable.append(
            Relationship(
                name, from_table, from_cols, to_table, to_cols, item.path,
                item.severity, item.operator, item.threshold, item.unit, item.kind,
            )
        )  # fmt: skip
    return checkable, unchecked
