"""AnyValue to JSON and back: every value an attribute can hold survives, as JSON text too."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValueList

from andon.telemetry.otlp_values import (
    attributes_json,
    fill_attributes,
    fill_value,
    json_double,
    value_of,
)

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(VALUES)
def test_a_json_value_survives_anyvalue(value: Any) -> None:
    message = AnyValue()
    fill_value(message, value)
    again = AnyValue.FromString(message.SerializeToString())
    assert value_of(again) == value
    assert _same_types(value_of(again), value)


def _same_types(a: Any, b: Any) -> bool:
    if isinstance(a, list):
        return isinstance(b, list) and all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and all(_same_types(a[k], b[k]) for k in a)
    return type(a) is type(b)


@given(st.dictionaries(st.text(), VALUES, max_size=6))
def test_attributes_become_json_object_text_that_reads_back_the_same(
    attributes: dict[str, Any],
) -> None:
    holder = KeyValueList()
    fill_attributes(holder.values, attributes)
    text = attributes_json(holder.values)
    assert json.loads(text) == attributes
    # compact, keys in their order, text as it is (not \u-escaped)
    assert text == json.dumps(attributes, separators=(",", ":"), ensure_ascii=False)


@given(st.floats())
def test_every_double_is_valid_json(value: float) -> None:
    message = AnyValue(double_value=value)
    text = json.dumps(value_of(message), allow_nan=False)
    if math.isfinite(value):
        assert json.loads(text) == value
    else:
        assert json.loads(text) == json_double(value) in ("NaN", "Infinity", "-Infinity")


def test_bytes_are_base64_and_empty_containers_are_kept() -> None:
    assert value_of(AnyValue(bytes_value=b"\x00\x01\xfe")) == "AAH+"
    for empty in ([], {}):
        message = AnyValue()
        fill_value(message, empty)
        assert value_of(AnyValue.FromString(message.SerializeToString())) == empty
    assert value_of(AnyValue()) is None
