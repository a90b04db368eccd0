"""Tail-sampling documents: the Collector's shape, every policy kind, errors naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from andon.core.errors import Invalid
from andon.telemetry import hot, spool
from andon.telemetry.sampling import DEFAULT_DOCUMENT, ERRORS, parse
from andon.telemetry.writer import Writer
from tests.telemetry.rows import spans, trace_id

NOW = 1_796_000_000_000_000_000  # 2026-11-30


def decide(tmp_path: Path, document: dict[str, Any], traces: list[list[dict[str, Any]]],
           objectives: dict[str, float] | None = None) -> dict[str, str]:  # fmt: skip
    """Fold ``traces`` (each a list of short rows) under ``document``; trace number -> policy
    that kept it, or "-" for dropped."""
    policy = parse(document)
    writer = Writer(tmp_path, lambda _: policy, lambda _: objectives or {}, clock=lambda: NOW)
    rows = [
        dict(row, trace=n, start=NOW - 10**9) for n, trace in enumerate(traces) for row in trace
    ]
    spool.write(tmp_path, "home", "spans", spans(rows))
    writer.run_once()
    with hot.reading(tmp_path, "home") as con:
        found = dict(con.execute("SELECT trace_id, policy FROM decisions").fetchall())
    return {n: found[trace_id(n)] for n in range(len(traces))}


ROOT = {"span": 0}


def test_the_default_keeps_errors_slow_traces_and_a_tenth_of_the_rest(tmp_path: Path) -> None:
    healthy = [[dict(ROOT, endpoint="chat", ms=50)] for _ in range(400)]
    traces = [[dict(ROOT, status="error")], [dict(ROOT, endpoint="chat", ms=900)], *healthy]
    decided = decide(tmp_path, DEFAULT_DOCUMENT, traces, {"chat": 800.0})
    assert decided[0] == ERRORS
    assert decided[1] == "slow"
    kept = sum(1 for n in range(2, len(traces)) if decided[n] == "healthy")
    assert 20 <= kept <= 60  # 10 % of 400, by the trace id's hash
    assert all(decided[n] in ("healthy", "-") for n in range(2, len(traces)))


def test_each_policy_kind(tmp_path: Path) -> None:
    document = {
        "policies": [
            {"name": "slow", "type": "latency", "latency": {"threshold_ms": 500}},
            {"name": "vip", "type": "string_attribute",
             "string_attribute": {"key": "tier", "values": ["gold", "plat.*"],
                                  "enabled_regex_matching": True}},
            {"name": "big", "type": "numeric_attribute",
             "numeric_attribute": {"key": "tokens", "min_value": 1000}},
            {"name": "flagged", "type": "boolean_attribute",
             "boolean_attribute": {"key": "review", "value": True}},
            {"name": "wide", "type": "span_count", "span_count": {"min_spans": 3}},
            {"name": "both", "type": "and", "and": {"and_sub_policy": [
                {"name": "a", "type": "string_attribute",
                 "string_attribute": {"key": "region", "values": ["eu"]}},
                {"name": "b", "type": "latency", "latency": {"threshold_ms": 100}}]}},
        ]
    }  # fmt: skip
    traces = [
        [dict(ROOT, ms=600)],
        [dict(ROOT, attrs={"tier": "platinum"})],
        [dict(ROOT, attrs={"tokens": 4096})],
        [dict(ROOT, attrs={"review": True})],
        [ROOT, {"span": 1, "parent": 0}, {"span": 2, "parent": 0}],
        [dict(ROOT, ms=150, attrs={"region": "eu"})],
        [dict(ROOT, ms=150, attrs={"region": "us", "tier": "silver", "tokens": 10})],
    ]
    assert decide(tmp_path, document, traces) == {
        0: "slow",
        1: "vip",
        2: "big",
        3: "flagged",
        4: "wide",
        5: "both",
        6: "-",
    }


def test_rate_limits_and_composite_allocation(tmp_path: Path) -> None:
    document = {
        "policies": [
            {"name": "capped", "type": "rate_limiting", "rate_limiting": {"spans_per_second": 3}},
        ]
    }
    decided = decide(tmp_path / "a", document, [[ROOT] for _ in range(10)])
    assert sorted(decided.values()).count("capped") == 3
    composite = {
        "policies": [
            {"name": "mix", "type": "composite", "composite": {
                "max_total_spans_per_second": 10,
                "policy_order": ["eu", "rest"],
                "composite_sub_policy": [
                    {"name": "eu", "type": "string_attribute",
                     "string_attribute": {"key": "region", "values": ["eu"]}},
                    {"name": "rest", "type": "always_sample"}],
                "rate_allocation": [{"policy": "eu", "percent": 50},
                                    {"policy": "rest", "percent": 20}]}},
        ]
    }  # fmt: skip
    traces = [[dict(ROOT, attrs={"region": "eu"})] for _ in range(8)] + [[ROOT] for _ in range(8)]
    decided = decide(tmp_path / "b", composite, traces)
    assert list(decided.values()).count("mix/eu") == 5
    assert list(decided.values()).count("mix/rest") == 2


@pytest.mark.parametrize(
    ("document", "field", "words"),
    [
        ({"policies": {}}, "policies", "list"),
        ({"decision_wait": "soon"}, "decision_wait", "duration"),
        ({"sample": 1}, "sample", "unknown key"),
        ({"policies": [{"type": "latency"}]}, "policies[0].name", "name"),
        ({"policies": [{"name": "x", "type": "magic"}]}, "policies[0].type", "unknown policy type"),
        ({"policies": [{"name": "x", "type": "ottl_condition"}]}, "policies[0].type", "OTTL"),
        ({"policies": [{"name": "x", "type": "latency", "latency": {}}]},
         "policies[0].latency.threshold_ms", "number"),
        ({"policies": [{"name": "x", "type": "status_code",
                        "status_code": {"status_codes": ["BAD"]}}]},
         "policies[0].status_code.status_codes", "ERROR, OK or UNSET"),
        ({"policies": [{"name": "x", "type": "probabilistic",
                        "probabilistic": {"sampling_percentage": 120}}]},
         "policies[0].probabilistic.sampling_percentage", "between 0 and 100"),
        ({"policies": [{"name": "x", "type": "string_attribute",
                        "string_attribute": {"key": 'a"b', "values": ["v"]}}]},
         "policies[0].string_attribute.key", "attribute key"),
        ({"policies": [{"name": "x", "type": "string_attribute",
                        "string_attribute": {"key": "k", "values": ["("],
                                             "enabled_regex_matching": True}}]},
         "policies[0].string_attribute.values[0]", "regular expression"),
        ({"policies": [{"name": "errors", "type": "always_sample"}]}, "policies[0].name", "taken"),
    ],
)  # fmt: skip
def test_a_bad_document_names_its_field(document: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse(document)
    assert caught.value.field == field
    assert words in caught.value.message


def test_a_collector_configuration_reads_as_it_is() -> None:
    """The tail_sampling example of the Collector's README, as YAML would load it."""
    document = {
        "decision_wait": "10s",
        "policies": [
            {"name": "test-policy-1", "type": "always_sample"},
            {"name": "test-policy-2", "type": "latency",
             "latency": {"threshold_ms": 5000, "upper_threshold_ms": 10000}},
            {"name": "test-policy-3", "type": "numeric_attribute",
             "numeric_attribute": {"key": "key1", "min_value": 50, "max_value": 100}},
            {"name": "test-policy-4", "type": "probabilistic",
             "probabilistic": {"sampling_percentage": 10}},
            {"name": "test-policy-5", "type": "status_code",
             "status_code": {"status_codes": ["ERROR", "UNSET"]}},
            {"name": "test-policy-6", "type": "string_attribute",
             "string_attribute": {"key": "key2", "values": ["value1", "value2"]}},
            {"name": "test-policy-8", "type": "rate_limiting",
             "rate_limiting": {"spans_per_second": 35}},
            {"name": "test-policy-10", "type": "span_count",
             "span_count": {"min_spans": 2, "max_spans": 20}},
            {"name": "test-policy-12", "type": "boolean_attribute",
             "boolean_attribute": {"key": "key4", "value": True}},
        ],
    }  # fmt: skip
    policy = parse(document)
    assert next(p.name for p in policy.policies) == "test-policy-1"
    assert policy.decision_wait_ns == 10 * 10**9
