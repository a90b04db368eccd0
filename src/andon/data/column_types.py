"""How two column types compare: ODCS logical types, SQL physical types, live Ibis types.

Each comparison answers ``same``, ``widened`` (the new type holds every old value),
``narrowed`` (the old type holds every new value) or ``changed`` (neither holds the other);
:mod:`andon.data.schema_changes` turns the answer into a change and says whether it breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Logical types each logical type widens to: every value of the key fits in each of these.
_LOGICAL_WIDER: dict[str, frozenset[str]] = {
    "integer": frozenset({"number", "string"}),
    "number": frozenset({"string"}),
    "boolean": frozenset({"string"}),
    "date": frozenset({"timestamp", "string"}),
    "timestamp": frozenset({"string"}),
}


def compare_logical(old: str, new: str) -> str:
    """``same``, ``widened``, ``narrowed`` or ``changed`` from logical type ``old`` to ``new``."""
    if old == new:
        return "same"
    if new in _LOGICAL_WIDER.get(old, frozenset()):
        return "widened"
    if old in _LOGICAL_WIDER.get(new, frozenset()):
        return "narrowed"
    return "changed"


# SQL physical types by family and capacity (PostgreSQL / DuckDB spellings, where ``float``
# is 4 bytes and ``int8`` is ``bigint``; Ibis spellings ``int64``, ``float32`` too).
_INT_BITS = {
    "tinyint": 8, "int1": 8, "int8": 64, "smallint": 16, "int2": 16, "int16": 16,
    "integer": 32, "int": 32, "int4": 32, "int32": 32, "mediumint": 24,
    "bigint": 64, "long": 64, "int64": 64, "hugeint": 128, "int128": 128,
}  # fmt: skip
_FLOAT_BITS = {
    "real": 32,
    "float": 32,
    "float4": 32,
    "float32": 32,
    "double": 64,
    "double precision": 64,
    "float8": 64,
    "float64": 64,
}
# Digits of the largest integer of so many bits, and digits every number of which it holds.
_INT_MAX_DIGITS = {8: 3, 16: 5, 24: 8, 32: 10, 64: 19, 128: 39}
_INT_SAFE_DIGITS = {8: 2, 16: 4, 24: 7, 32: 9, 64: 18, 128: 38}
_STRINGS = ("varchar", "character varying", "char", "character", "nvarchar", "text", "string")
_PARAMS = re.compile(r"^\s*([a-z][a-z0-9 ]*?)\s*(?:\(\s*([0-9]+)\s*(?:,\s*([0-9]+)\s*)?\))?\s*$")


@dataclass(frozen=True)
class _Physical:
    family: str  # int, float, decimal, string, other
    size: int | None  # bits, or a string length (None: unbounded)
    scale: int = 0
    text: str = ""


def _physical(text: str) -> _Physical:
    found = _PARAMS.match(text.lower())
    if found is None:
        return _Physical("other", None, text=text.lower().strip())
    name, first, second = found.group(1), found.group(2), found.group(3)
    if name in _INT_BITS and first is None:
        return _Physical("int", _INT_BITS[name])
    if name in _FLOAT_BITS and first is None:
        return _Physical("float", _FLOAT_BITS[name])
    if name in ("decimal", "numeric"):
        precision = int(first) if first else 38
        return _Physical("decimal", precision, int(second) if second else 0)
    if name in _STRINGS:
        return _Physical("string", int(first) if first and name != "text" else None)
    return _Physical("other", None, text=re.sub(r"\s+", " ", text.lower().strip()))


def _holds(new: _Physical, old: _Physical) -> bool:
    """Whether every value of physical type ``old`` fits in ``new``."""
    if new.family == "string" and old.family != "string":
        return new.size is None
    if new.family != old.family:
        # Integers fit in floats and in decimals with enough integer digits.
        if old.family == "int" and new.family == "float":
            return True
        if old.family == "int" and new.family == "decimal":
            return (new.size or 38) - new.scale >= _INT_MAX_DIGITS.get(old.size or 64, 39)
        if old.family == "decimal" and new.family == "int":
            # An integer-valued decimal fits when every number of its digits fits.
            return old.scale == 0 and (old.size or 38) <= _INT_SAFE_DIGITS.get(new.size or 64, 38)
        return False
    if new.family == "other":
        return new.text == old.text
    if new.family == "string":
        return new.size is None or (old.size is not None and old.size <= new.size)
    if new.family == "decimal":
        return (new.size or 0) - new.scale >= (old.size or 0) - old.scale and (
            new.scale >= old.scale
        )
    return (new.size or 0) >= (old.size or 0)


def compare_physical(old: str, new: str) -> str:
    """``same``, ``widened``, ``narrowed`` or ``changed`` between two SQL physical types."""
    a, b = _physical(old), _physical(new)
    if a == b:
        return "same"
    wider, narrower = _holds(b, a), _holds(a, b)
    if wider and narrower:
        return "same"  # two spellings of one type (int4 and integer)
    if wider:
        return "widened"
    if narrower:
        return "narrowed"
    return "changed"


def live_logical(dtype: str) -> str | None:
    """The ODCS logical type of an Ibis type string (``!int64`` -> ``integer``); None if unknown."""
    name = dtype.lstrip("!").lower()
    if re.fullmatch(r"u?int(8|16|32|64)", name):
        return "integer"
    if re.fullmatch(r"float(16|32|64)", name) or name.startswith("decimal"):
        return "number"
    if name in ("string", "large_string") or name.startswith("varchar"):
        return "string"
    if name == "boolean":
        return "boolean"
    if name == "date":
        return "date"
    if name == "time":
        return "time"
    if name.startswith("timestamp"):
        return "timestamp"
    if name.startswith(("struct", "map", "json")):
        return "object"
    if name.startswith("array"):
        return "array"
    return None
