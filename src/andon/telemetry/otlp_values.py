"""OTLP ``AnyValue`` and attribute lists to JSON text and back.

andon keeps every attribute map as JSON object text (:mod:`andon.telemetry.schema`). An
``AnyValue`` becomes: a string, a boolean, an integer (the exact int64), a double, an array, an
object (``kvlist_value``, keys in their order), base64 text (``bytes_value``), or ``null`` (no
value set). JSON has no NaN or infinity, so a non-finite double becomes the string ``"NaN"``,
``"Infinity"`` or ``"-Infinity"``, as the proto3 JSON mapping spells them; the text stays valid
JSON for DuckDB. Encoding back gives a string where the span had bytes or a non-finite double;
everything else round-trips to the same ``AnyValue``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_JSON = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False
)
dumps = _JSON.encode
"""Compact JSON text of a value made of JSON types (no NaN)."""


def json_double(value: float) -> float | str:
    """A double as JSON can hold it: itself, or ``"NaN"``, ``"Infinity"``, ``"-Infinity"``."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def value_of(value: Any) -> Any:
    """The Python (JSON) value of an ``AnyValue``."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        return json_double(value.double_value)
    if kind == "array_value":
        return [value_of(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def attributes_of(key_values: Iterable[Any]) -> dict[str, Any]:
    """A repeated ``KeyValue`` as a dict (a repeated key keeps its last value)."""
    out = {}
    for kv in key_values:
        value = kv.value
        text = value.string_value  # the common case, read without asking which value is set
        out[kv.key] = text if text else value_of(value)
    return out


def attributes_json(key_values: Any) -> str:
    """A repeated ``KeyValue`` as JSON object text."""
    return dumps(attributes_of(key_values)) if key_values else "{}"


def fill_value(target: Any, value: Any) -> None:
    """Set the ``AnyValue`` ``target`` to the JSON value ``value`` (``None`` leaves it unset)."""
    if value is None:
        return
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            target.int_value = value
        else:
            target.string_value = str(value)
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, list):
        values = target.array_value.values
        target.array_value.SetInParent()  # an empty array is still an array, not unset
        for item in value:
            fill_value(values.add(), item)
    elif isinstance(value, dict):
        fill_attributes(target.kvlist_value.values, value)
        target.kvlist_value.SetInParent()
    else:
        target.string_value = str(value)


def fill_attributes(key_values: Any, attributes: Mapping[str, Any]) -> None:
    """Append each of ``attributes`` to the repeated ``KeyValue`` ``key_values``."""
    for key, value in attributes.items():
        kv = key_values.add()
        kv.key = key
        fill_value(kv.value, value)
