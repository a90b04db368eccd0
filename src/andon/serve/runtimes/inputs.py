"""Checking a prediction request against a model's signature, before anything runs.

A request is ``{"inputs": [row, ...]}``; each row is an object keyed by feature name
(``{"amount": 12.5, ...}``) or a list of values in the signature's order. Every problem is
collected and reported at once in one :class:`~andon.core.errors.Invalid` whose ``errors``
detail names each field path (``inputs[2].amount: expected a number, got "abc"``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from andon.core.errors import Invalid

MAX_ROWS = 10_000
"""The most rows one request may carry."""
MAX_LISTED = 100
"""Problems listed one by one; the rest are counted."""

Kind = Literal["number", "integer", "string", "boolean"]
_EXPECTED = {
    "number": "a number",
    "integer": "an integer",
    "string": "a string",
    "boolean": "true or false",
}
_ONNX_KINDS: dict[str, Kind] = {
    "tensor(float)": "number",
    "tensor(double)": "number",
    "tensor(float16)": "number",
    "tensor(int64)": "integer",
    "tensor(int32)": "integer",
    "tensor(int16)": "integer",
    "tensor(int8)": "integer",
    "tensor(uint8)": "integer",
    "tensor(string)": "string",
    "tensor(bool)": "boolean",
}


def onnx_kind(onnx_type: str) -> Kind:
    """The JSON kind of values an ONNX tensor type takes (numbers when unknown)."""
    return _ONNX_KINDS.get(onnx_type, "number")


@dataclass(frozen=True, slots=True)
class Signature:
    """What one model version takes: its features in order (names may be unknown) and kinds."""

    label: str
    """How errors name the model: ``fraud-detector v3``."""
    names: tuple[str, ...] | None
    """Feature names in column order; None when the model does not name them."""
    kinds: tuple[Kind, ...] | None
    """Each column's kind; None when the width is unknown (then every value is a number)."""

    @property
    def width(self) -> int | None:
        """How many values a row holds, when the model says."""
        return len(self.kinds) if self.kinds is not None else None


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.count = 0

    def add(self, path: str, reason: str) -> None:
        self.count += 1
        if len(self.items) < MAX_LISTED:
            self.items.append(f"{path}: {reason}")


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check(value: Any, kind: Kind) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) or (
            isinstance(value, float) and math.isfinite(value) and value.is_integer()
        )
    return isinstance(value, int | float)


def parse_inputs(body: Any, sig: Signature) -> list[list[Any]]:
    """The request's rows as lists of values in signature order; :class:`Invalid` names
    every problem (missing or unknown features, wrong kinds, wrong widths, too many rows)."""
    problems = _Problems()
    rows: list[list[Any]] = []
    if not isinstance(body, dict):
        problems.add("body", f"expected an object with inputs, got {_show(body)}")
        _raise(problems, sig)
    for key in body:
        if key not in ("inputs", "model"):
            problems.add(str(key), "not a field of a prediction request (inputs)")
    inputs = body.get("inputs")
    if inputs is None:
        problems.add("inputs", "is required: a list of rows")
    elif not isinstance(inputs, list):
        problems.add("inputs", f"expected a list of rows, got {_show(inputs)}")
    elif not inputs:
        problems.add("inputs", "is empty: send at least one row")
    elif len(inputs) > MAX_ROWS:
        problems.add("inputs", f"has {len(inputs)} rows; at most {MAX_ROWS} per request")
    else:
        width = sig.width
        if width is None and isinstance(inputs[0], list):
            width = len(inputs[0])  # an unnamed matrix: every row as wide as the first
        for i, row in enumerate(inputs):
            parsed = _row(f"inputs[{i}]", row, sig, width, problems)
            if parsed is not None:
                rows.append(parsed)
    if problems.count:
        _raise(problems, sig)
    return rows


def _row(
    path: str, row: Any, sig: Signature, width: int | None, problems: _Problems
) -> list[Any] | None:
    kinds = sig.kinds
    if isinstance(row, dict):
        if sig.names is None:
            problems.add(path, f"{sig.label} names no features: send the row as a list of values")
            return None
        ok = True
        for key in row:
            if key not in sig.names:
                problems.add(f"{path}.{key}", f"not a feature of {sig.label}")
                ok = False
        values: list[Any] = []
        for j, name in enumerate(sig.names):
            if name not in row:
                problems.add(path, f"missing feature '{name}'")
                ok = False
                continue
            kind = kinds[j] if kinds is not None else "number"
            if not _check(row[name], kind):
                problems.add(
                    f"{path}.{name}", f"expected {_EXPECTED[kind]}, got {_show(row[name])}"
                )
                ok = False
            values.append(row[name])
        return values if ok else None
    if isinstance(row, list):
        if width is not None and len(row) != width:
            names = f" ({', '.join(sig.names)})" if sig.names else ""
            problems.add(path, f"expected {width} values{names}, got {len(row)}")
            return None
        ok = True
        for j, value in enumerate(row):
            kind = kinds[j] if kinds is not None else "number"
            if not _check(value, kind):
                where = f"{path}.{sig.names[j]}" if sig.names else f"{path}[{j}]"
                problems.add(where, f"expected {_EXPECTED[kind]}, got {_show(value)}")
                ok = False
        return row if ok else None
    shape = "an object keyed by feature or a list of values" if sig.names else "a list of values"
    problems.add(path, f"expected {shape}, got {_show(row)}")
    return None


def _raise(problems: _Problems, sig: Signature) -> None:
    more = problems.count - len(problems.items)
    listed = problems.items + ([f"... and {more} more"] if more else [])
    noun = "problem" if problems.count == 1 else "problems"
    raise Invalid(
        f"the request does not fit {sig.label} ({problems.count} {noun}):\n  "
        + "\n  ".join(listed),
        field="inputs",
        errors=listed,
    )
