"""The ``--where`` grammar for runs, compiled to SQL (never to ``eval`` or string SQL).

::

    where      := clause ("and" clause)*
    clause     := field op value
    field      := "metrics." KEY | "params." KEY | "status" | "name"
    op         := "=" | "!=" | ">" | ">=" | "<" | "<="
    value      := NUMBER | 'text' | "text" | WORD

``metrics.X`` compares the latest logged value of metric X numerically (a run without the
metric never matches); ``params.X`` compares the parameter's text, so it takes ``=`` and
``!=`` only; ``status`` and ``name`` take ``=`` and ``!=``. Values are bound parameters.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select

from andon.core.errors import Invalid
from andon.store.tables.registry import Run, RunMetric, RunParam

STATUSES = ("running", "finished", "failed", "killed")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>!=|>=|<=|=|>|<)
      | (?P<str>'[^']*'|"[^"]*")
      | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
      | (?P<word>[A-Za-z_][\w.:/-]*)
    )""",
    re.VERBOSE,
)
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_KEY = re.compile(r"^[\w.:/-]{1,200}$")


@dataclass(frozen=True, slots=True)
class Clause:
    """One parsed comparison."""

    field: str
    key: str | None
    op: str
    value: str | float


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise Invalid(
                f"cannot read '{text[pos:].strip()[:20]}' at character {pos + 1}", field="where"
            )
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def parse(text: str) -> list[Clause]:
    """Parse a where expression into clauses, or raise :class:`Invalid` saying what is wrong."""
    tokens = _tokens(text)
    if not tokens:
        raise Invalid("is empty; try metrics.f1 > 0.8", field="where")
    clauses: list[Clause] = []
    i = 0
    while True:
        if i + 3 > len(tokens):
            raise Invalid("each clause is FIELD OP VALUE, such as metrics.f1 > 0.8", field="where")
        (fk, field), (ok, op), (vk, raw) = tokens[i : i + 3]
        if fk != "word" or field.lower() == "and":
            raise Invalid(f"expected a field, got '{field}'", field="where")
        if ok != "op":
            raise Invalid(
                f"expected one of = != > >= < <= after '{field}', got '{op}'", field="where"
            )
        if vk == "op":
            raise Invalid(f"expected a value after '{field} {op}'", field="where")
        clauses.append(_clause(field, op, vk, raw))
        i += 3
        if i == len(tokens):
            return clauses
        kind, word = tokens[i]
        if kind != "word" or word.lower() != "and":
            raise Invalid(f"expected 'and' between clauses, got '{word}'", field="where")
        i += 1


def _clause(field: str, op: str, kind: str, raw: str) -> Clause:
    value: str | float = raw[1:-1] if kind == "str" else raw
    if field.startswith("metrics."):
        key = field.removeprefix("metrics.")
        if not _KEY.match(key):
            raise Invalid(f"'{key}' is not a metric name", field="where")
        if kind != "num":
            raise Invalid(f"metrics compare with numbers, not '{raw}'", field="where")
        return Clause("metrics", key, op, float(raw))
    if field.startswith("params."):
        key = field.removeprefix("params.")
        if not _KEY.match(key):
            raise Invalid(f"'{key}' is not a parameter name", field="where")
        if op not in ("=", "!="):
            raise Invalid("params compare as text: use = or !=", field="where")
        return Clause("params", key, op, str(value))
    if field in ("status", "name"):
        if op not in ("=", "!="):
            raise Invalid(f"{field} takes = or != only", field="where")
        if field == "status" and value not in STATUSES:
            raise Invalid(f"status is one of {', '.join(STATUSES)}, not '{value}'", field="where")
        return Clause(field, None, op, str(value))
    raise Invalid(
        f"unknown field '{field}': use metrics.NAME, params.NAME, status or name", field="where"
    )


def compile_where(text: str) -> ColumnElement[bool]:
    """The where expression as a SQLAlchemy condition on :class:`Run`."""
    parts: list[ColumnElement[bool]] = []
    for c in parse(text):
        compare = _OPS[c.op]
        if c.field == "metrics":
            parts.append(
                exists(
                    select(RunMetric.run_id).where(
                        RunMetric.run_id == Run.id,
                        RunMetric.key == c.key,
                        compare(RunMetric.value, c.value),
                    )
                )
            )
        elif c.field == "params":
            parts.append(
                exists(
                    select(RunParam.run_id).where(
                        RunParam.run_id == Run.id,
                        RunParam.key == c.key,
                        compare(RunParam.value, c.value),
                    )
                )
            )
        else:
            parts.append(compare(getattr(Run, c.field), c.value))
    return and_(*parts)
