"""Tail sampling: which traces the hot tier keeps, decided per trace once it is whole.

A team's sampling document has the shape of the OpenTelemetry Collector's ``tail_sampling``
processor (``decision_wait`` and a list of named ``policies``, each of a ``type`` with its
settings under a key of the same name), so a Collector configuration moves over as it is::

    decision_wait: 10s
    late_error_window: 2m
    policies:
      - {name: slow, type: latency, latency: {threshold_ms: 500}}
      - {name: checkout, type: string_attribute,
         string_attribute: {key: andon.endpoint, values: [checkout]}}
      - {name: healthy, type: probabilistic, probabilistic: {sampling_percentage: 10}}

Policy types: ``always_sample``, ``status_code``, ``latency``, ``string_attribute``,
``numeric_attribute``, ``boolean_attribute``, ``span_count``, ``probabilistic``,
``rate_limiting``, ``and``, ``composite`` (the Collector's), and andon's ``slo``: the trace
took longer than its endpoint's latency objective (the endpoint's ``slo.p95``; traces of an
endpoint without one are matched only past ``fallback_ms``, when given). A trace is kept when
any policy keeps it, and reported under the first that did. The Collector's ``ottl_condition``
and ``trace_state`` types are refused by name (andon does not evaluate OTTL).

Two rules hold whatever the document says, because they are the point of tail sampling:

* **every trace with an error span is kept** (the built-in policy ``errors`` comes first);
* **a late error overturns a drop**: the spans of a dropped trace are held for
  ``late_error_window``; an error span of that trace arriving meanwhile keeps the whole trace.
  Other late spans follow the decision (the Collector decides late spans apart instead).

A trace is decided when its root span has arrived (a span is exported once it ends, so the
root's arrival means the trace is done) or ``decision_wait`` after its first span arrived.

Each leaf policy compiles to one SQL boolean over a trace's spans, so the writer decides every
waiting trace of a team in one ``GROUP BY`` (:func:`facts_sql`); only the rate limits of
``rate_limiting`` and ``composite`` are applied afterwards in Python (:class:`Sampler`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from andon.core.errors import Invalid

ERRORS = "errors"
"""The built-in first policy: a trace with an error span is always kept."""
LATE_ERROR = "late-error"
"""The policy a dropped trace is kept under when an error span of it arrives late."""
DROPPED = "-"
"""The policy name of a drop decision."""

DEFAULT_DOCUMENT: dict[str, Any] = {
    "decision_wait": "10s",
    "late_error_window": "2m",
    "policies": [
        {"name": "slow", "type": "slo", "slo": {}},
        {"name": "healthy", "type": "probabilistic", "probabilistic": {"sampling_percentage": 10}},
    ],
}
"""What a team without a sampling document gets: errors (built in), traces slower than their
endpoint's objective, and one healthy trace in ten."""

LEAF_TYPES = (
    "always_sample",
    "status_code",
    "latency",
    "slo",
    "string_attribute",
    "numeric_attribute",
    "boolean_attribute",
    "span_count",
    "probabilistic",
    "rate_limiting",
)
_REFUSED = {"ottl_condition": "OTTL conditions", "trace_state": "trace state"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNIT_NS = {"ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_KEY = re.compile(r'^[^"\\\x00-\x1f]{1,256}$')
_STATUS = {"ERROR": "error", "OK": "ok", "UNSET": "unset"}


@dataclass(frozen=True)
class Leaf:
    """One policy that compiles to a SQL boolean over a trace (``outer`` reads the facts)."""

    name: str
    type: str
    aggregate: str | None  # a per-trace aggregate, computed in the facts query
    outer: str  # the policy's boolean over the facts row (``f.p3`` or a join on ``slo``)
    spans_per_second: int | None = None  # rate_limiting only
    key: str | None = None  # the attribute key an attribute policy tests


@dataclass(frozen=True)
class Policy:
    """A top-level policy: a leaf, an ``and`` of leaves, or a ``composite``."""

    name: str
    type: str
    leaves: tuple[Leaf, ...]
    max_spans_per_second: int | None = None  # composite
    allocation: tuple[int, ...] = ()  # composite: each sub-policy's share (percent)


@dataclass(frozen=True)
class SamplingPolicy:
    """A team's parsed sampling document."""

    decision_wait_ns: int
    late_error_window_ns: int
    policies: tuple[Policy, ...]
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def leaves(self) -> list[Leaf]:
        """Every leaf of every policy, in order (each is one column of the facts query)."""
        return [leaf for policy in self.policies for leaf in policy.leaves]

    @property
    def attribute_keys(self) -> set[str]:
        """The attribute keys the policies test (a tag schema always keeps them)."""
        return {leaf.key for leaf in self.leaves if leaf.key is not None}


def parse(document: Mapping[str, Any]) -> SamplingPolicy:
    """The sampling policy a document describes; :class:`Invalid` naming the first bad field."""
    if not isinstance(document, Mapping):
        raise Invalid("a sampling document is a mapping", field="sampling")
    known = {"decision_wait", "late_error_window", "policies"}
    for key in document:
        if key not in known:
            raise Invalid(f"unknown key (known: {', '.join(sorted(known))})", field=str(key))
    wait = _duration(document.get("decision_wait", "10s"), "decision_wait")
    late = _duration(document.get("late_error_window", "2m"), "late_error_window")
    raw = document.get("policies", [])
    if not isinstance(raw, list):
        raise Invalid("must be a list of policies", field="policies")
    counter = [0]
    policies: list[Policy] = []
    seen: set[str] = {ERRORS, LATE_ERROR}
    for i, item in enumerate(raw):
        where = f"policies[{i}]"
        policy = _policy(item, where, counter)
        if policy.name in seen:
            raise Invalid(f"the name {policy.name!r} is taken", field=f"{where}.name")
        seen.add(policy.name)
        policies.append(policy)
    return SamplingPolicy(wait, late, tuple(policies), dict(document))


def _duration(value: Any, where: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0:
            raise Invalid("must be a duration of 0 or more (such as 10s)", field=where)
        return int(seconds * 1e9)
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if match is None:
        raise Invalid("must be a duration such as 500ms, 10s, 2m or 1h", field=where)
    return int(float(match.group(1)) * _UNIT_NS[match.group(2)])


def _policy(item: Any, where: str, counter: list[int]) -> Policy:
    if not isinstance(item, Mapping):
        raise Invalid("a policy is a mapping with name and type", field=where)
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid("every policy needs a name", field=f"{where}.name")
    kind = item.get("type")
    if kind in _REFUSED:
        raise Invalid(f"{_REFUSED[kind]} are not evaluated by andon", field=f"{where}.type")
    if kind == "and":
        subs = _settings(item, "and", where).get("and_sub_policy")
        leaves = _subs(subs, f"{where}.and.and_sub_policy", counter)
        expr = " AND ".join(f"({leaf.outer})" for leaf in leaves)
        return Policy(name, "and", (Leaf(name, "and", None, expr), *leaves))
    if kind == "composite":
        return _composite(name, item, where, counter)
    if kind not in LEAF_TYPES:
        raise Invalid(
            f"unknown policy type {kind!r} (known: {', '.join((*LEAF_TYPES, 'and', 'composite'))})",
            field=f"{where}.type",
        )
    leaf = _leaf(name, kind, item, where, counter)
    return Policy(name, kind, (leaf,))


def _settings(item: Mapping[str, Any], kind: str, where: str) -> Mapping[str, Any]:
    settings = item.get(kind, {})
    if settings is None:
        return {}
    if not isinstance(settings, Mapping):
        raise Invalid("must be a mapping of the policy's settings", field=f"{where}.{kind}")
    return settings


def _subs(raw: Any, where: str, counter: list[int]) -> tuple[Leaf, ...]:
    if not isinstance(raw, list) or not raw:
        raise Invalid("must be a non-empty list of sub-policies", field=where)
    leaves = []
    for j, sub in enumerate(raw):
        at = f"{where}[{j}]"
        if not isinstance(sub, Mapping) or sub.get("type") not in LEAF_TYPES:
            raise Invalid(f"a sub-policy is one of {', '.join(LEAF_TYPES)}", field=f"{at}.type")
        if sub.get("type") == "rate_limiting":
            raise Invalid("rate limits do not nest; use composite", field=f"{at}.type")
        leaves.append(_leaf(str(sub.get("name") or f"sub{j}"), sub["type"], sub, at, counter))
    return tuple(leaves)


def _composite(name: str, item: Mapping[str, Any], where: str, counter: list[int]) -> Policy:
    settings = _settings(item, "composite", where)
    at = f"{where}.composite"
    total = _number(settings.get("max_total_spans_per_second"), f"{at}.max_total_spans_per_second")
    leaves = _subs(settings.get("composite_sub_policy"), f"{at}.composite_sub_policy", counter)
    by_name = {leaf.name: leaf for leaf in leaves}
    order = settings.get("policy_order", [leaf.name for leaf in leaves])
    if not isinstance(order, list) or sorted(order) != sorted(by_name):
        raise Invalid("must list each sub-policy's name once", field=f"{at}.policy_order")
    shares = {leaf.name: 0 for leaf in leaves}
    for k, entry in enumerate(settings.get("rate_allocation", []) or []):
        if not isinstance(entry, Mapping) or entry.get("policy") not in by_name:
            raise Invalid("names a sub-policy", field=f"{at}.rate_allocation[{k}].policy")
        shares[entry["policy"]] = int(_number(entry.get("percent"), f"{at}.rate_allocation[{k}]"))
    if sum(shares.values()) > 100:
        raise Invalid("the percents add up to more than 100", field=f"{at}.rate_allocation")
    if not any(shares.values()):
        shares = {key: 100 // len(shares) for key in shares}
    ordered = tuple(by_name[key] for key in order)
    return Policy(name, "composite", ordered, int(total), tuple(shares[x.name] for x in ordered))


def _number(value: Any, where: str, low: float = 0, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid("must be a number", field=where)
    if not low <= value <= high:
        raise Invalid(f"must be between {low:g} and {high:g}", field=where)
    return float(value)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _key(settings: Mapping[str, Any], where: str) -> str:
    key = settings.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise Invalid("must be an attribute key (no quotes or backslashes)", field=f"{where}.key")
    return key


def _attribute(key: str, getter: str = "json_extract_string") -> str:
    path = _literal(f'$."{key}"')
    return f"coalesce({getter}(attributes, {path}), {getter}(resource, {path}))"


def _leaf(name: str, kind: str, item: Mapping[str, Any], where: str, counter: list[int]) -> Leaf:
    settings = _settings(item, kind, where)
    at = f"{where}.{kind}"
    column = f"p{counter[0]}"
    counter[0] += 1

    def agg(sql: str) -> Leaf:
        tested = settings.get("key") if kind.endswith("_attribute") else None
        return Leaf(name, kind, sql, f"f.{column}", key=tested)

    if kind == "always_sample":
        return agg("true")
    if kind == "status_code":
        codes = settings.get("status_codes")
        if not isinstance(codes, list) or not codes or any(c not in _STATUS for c in codes):
            raise Invalid("must list ERROR, OK or UNSET", field=f"{at}.status_codes")
        listed = ", ".join(_literal(_STATUS[c]) for c in codes)
        return agg(f"bool_or(status_code IN ({listed}))")
    if kind == "latency":
        low = _number(settings.get("threshold_ms"), f"{at}.threshold_ms")
        high = settings.get("upper_threshold_ms")
        trace_ms = "(max(end_unix_nano) - min(start_unix_nano)) / 1e6"
        sql = f"{trace_ms} >= {low!r}"
        if high is not None:
            sql += f" AND {trace_ms} < {_number(high, f'{at}.upper_threshold_ms', low)!r}"
        return agg(sql)
    if kind == "slo":
        fallback = settings.get("fallback_ms")
        limit = (
            "s.ms"
            if fallback is None
            else f"coalesce(s.ms, {_number(fallback, f'{at}.fallback_ms')!r})"
        )
        return Leaf(name, kind, None, f"coalesce(f.trace_ms > {limit}, false)")
    if kind == "string_attribute":
        key = _key(settings, at)
        values = settings.get("values")
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) for v in values)
        ):
            raise Invalid("must be a non-empty list of strings", field=f"{at}.values")
        value = _attribute(key)
        if settings.get("enabled_regex_matching"):
            for k, pattern in enumerate(values):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise Invalid(
                        f"not a regular expression: {exc}", field=f"{at}.values[{k}]"
                    ) from None
            test = " OR ".join(f"regexp_matches({value}, {_literal(v)})" for v in values)
        else:
            test = f"{value} IN ({', '.join(_literal(v) for v in values)})"
        if settings.get("invert_match"):
            return agg(f"NOT coalesce(bool_or({test}), false)")
        return agg(f"coalesce(bool_or({test}), false)")
    if kind == "numeric_attribute":
        key = _key(settings, at)
        low = settings.get("min_value", -math.inf)
        high = settings.get("max_value", math.inf)
        if "min_value" not in settings and "max_value" not in settings:
            raise Invalid("needs min_value, max_value or both", field=at)
        low_n = _number(low, f"{at}.min_value", -math.inf) if "min_value" in settings else None
        high_n = _number(high, f"{at}.max_value", -math.inf) if "max_value" in settings else None
        number = f"TRY_CAST({_attribute(key, 'json_extract')} AS DOUBLE)"
        tests = [f"{number} >= {low_n!r}"] if low_n is not None else []
        tests += [f"{number} <= {high_n!r}"] if high_n is not None else []
        return agg(f"coalesce(bool_or({' AND '.join(tests)}), false)")
    if kind == "boolean_attribute":
        key = _key(settings, at)
        flag = settings.get("value")
        if not isinstance(flag, bool):
            raise Invalid("must be true or false", field=f"{at}.value")
        return agg(f"coalesce(bool_or({_attribute(key)} = {_literal(str(flag).lower())}), false)")
    if kind == "span_count":
        low = int(_number(settings.get("min_spans"), f"{at}.min_spans", 1))
        sql = f"count(*) >= {low}"
        if settings.get("max_spans") is not None:
            sql += f" AND count(*) <= {int(_number(settings['max_spans'], f'{at}.max_spans', low))}"
        return agg(sql)
    if kind == "probabilistic":
        share = _number(settings.get("sampling_percentage"), f"{at}.sampling_percentage", 0, 100)
        salt = settings.get("hash_salt", "")
        if not isinstance(salt, str):
            raise Invalid("must be a string", field=f"{at}.hash_salt")
        # The same trace id gives the same answer on every writer and after every restart.
        return agg(f"hash(trace_id || {_literal(salt)}) % 1000000 < {round(share * 10_000)}")
    rate = int(_number(settings.get("spans_per_second"), f"{at}.spans_per_second", 1))
    return Leaf(name, kind, "true", f"f.{column}", spans_per_second=rate)


def facts_sql(policy: SamplingPolicy) -> str:
    """One query over ``held_spans`` (joined with a ``slo(endpoint, ms)`` table) giving, for
    every pending trace ready to decide (``?`` = the arrival cutoff of ``decision_wait``), its
    span count, whether it holds an error, and one boolean per leaf policy (``l0``, ``l1``...)."""
    aggregates = "".join(
        f", {leaf.aggregate} AS {leaf.outer.removeprefix('f.')}"
        for leaf in policy.leaves
        if leaf.aggregate is not None
    )
    outers = "".join(f", {leaf.outer} AS l{i}" for i, leaf in enumerate(policy.leaves))
    return (
        "WITH f AS (SELECT trace_id, count(*) AS spans, bool_or(status_code = 'error') AS error, "
        "(max(end_unix_nano) - min(start_unix_nano)) / 1e6 AS trace_ms, max(endpoint) AS endpoint, "
        f"bool_or(parent_span_id = '') AS rooted, min(arrived_ns) AS first_ns{aggregates} "
        "FROM held_spans WHERE state = 'pending' GROUP BY trace_id) "
        f"SELECT f.trace_id, f.spans, f.error{outers} FROM f LEFT JOIN slo s ON s.endpoint = f.endpoint "
        "WHERE f.rooted OR f.first_ns <= ? ORDER BY f.first_ns, f.trace_id"
    )


@dataclass
class Sampler:
    """Applies a team's policies to facts rows, with the rate limits' per-second counters."""

    policy: SamplingPolicy
    second: int = -1
    used: dict[tuple[str, int], int] = field(default_factory=dict)

    def decide(
        self, rows: Sequence[Sequence[Any]], now_ns: int
    ) -> list[tuple[str, bool, str, int]]:
        """``(trace_id, kept, policy, spans)`` for each facts row (as :func:`facts_sql` returns
        them, in order)."""
        second = now_ns // 1_000_000_000
        if second != self.second:
            self.second, self.used = second, {}
        index = {id(leaf): i for i, leaf in enumerate(self.policy.leaves)}
        decided = []
        for row in rows:
            trace_id, spans, error = row[0], int(row[1]), bool(row[2])
            flags = row[3:]
            if error:
                decided.append((trace_id, True, ERRORS, spans))
                continue
            chosen = DROPPED
            for policy in self.policy.policies:
                chosen = self._keeps(policy, flags, index, spans)
                if chosen != DROPPED:
                    break
            decided.append((trace_id, chosen != DROPPED, chosen, spans))
        return decided

    def _keeps(
        self, policy: Policy, flags: Sequence[Any], index: dict[int, int], spans: int
    ) -> str:
        if policy.type == "composite":
            total = policy.max_spans_per_second or 0
            for slot, (leaf, share) in enumerate(
                zip(policy.leaves, policy.allocation, strict=True)
            ):
                if flags[index[id(leaf)]] and self._take(
                    (policy.name, slot), total * share // 100, spans
                ):
                    return f"{policy.name}/{leaf.name}"
            return DROPPED
        head = policy.leaves[0]
        if not flags[index[id(head)]]:
            return DROPPED
        if head.spans_per_second is not None and not self._take(
            (policy.name, 0), head.spans_per_second, spans
        ):
            return DROPPED
        return policy.name

    def _take(self, key: tuple[str, int], limit: int, spans: int) -> bool:
        used = self.used.get(key, 0)
        if used + spans > limit:
            return False
        self.used[key] = used + spans
        return True
