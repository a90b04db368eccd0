"""CEL gates: static checking against the fact schema, evaluation, explanation (no database)."""

from __future__ import annotations

import operator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.core.errors import Invalid
from andon.policy.facts import GATE_FACTS, MONITOR_FACTS
from andon.policy.gates import compile_gate, evaluate, explain
from andon.policy.sample import SAMPLE_GATE, sample_policy
from andon.policy.spec import parse_policy

FIELD = "stages.production.gate"


def _error(text: str, schema: dict[str, str] = GATE_FACTS) -> str:
    with pytest.raises(Invalid) as caught:
        compile_gate(text, schema, field=FIELD)
    assert caught.value.field == FIELD
    return caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("eval.f11 >= 0.8", "column 6: unknown fact 'eval.f11'"),
        ("eval.f1 >= 0.8 && evals.f1 > 0", "column 19: unknown fact 'evals'"),
        ("eval.f1 == 'high'", "'==' compares a number with a string"),
        ("eval.task > 3", "'>' compares a string with a number"),
        ("eval.f1 && card.complete", "'&&' needs a bool, got a number"),
        ("card.complete || 1", "'||' needs a bool, got a number"),
        ("!eval.f1", "'!' needs a bool, got a number"),
        ("eval.f1 + 1", "the expression is a number, not a boolean"),
        ("eval > 1", "'eval' is a group of facts"),
        ("eval.f1.value > 1", "'eval.f1' is a number; it has no field 'value'"),
        ("eval.f1 >= ", "syntax error"),
        ("(eval.f1 > 1", "syntax error"),
        ("matches(eval.task, 'x')", "unknown function matches()"),
        ("eval.f1 in 3", "'in' needs a list"),
        ("card.complete ? 1 : 'x'", "the branches of ?: are a number and a string"),
    ],
)
def test_bad_gates_are_refused_with_the_column(text: str, message: str) -> None:
    assert message in _error(text)


def test_rollback_rules_read_monitor_facts_only() -> None:
    compile_gate("slo.p95_ms > 120 || drift.status == 'red'", MONITOR_FACTS, field="r")
    assert "unknown fact 'eval'" in _error("eval.f1 > 0.5", MONITOR_FACTS)
    assert "unknown fact 'slo'" in _error("slo.p95_ms > 120")


def test_sample_gate_and_policy_compile() -> None:
    gate = compile_gate(SAMPLE_GATE, GATE_FACTS, field=FIELD)
    assert [c.text for c in gate.clauses] == [
        "eval.f1 >= champion.f1 - 0.01",
        "eval.latency_p95_ms <= 120",
        "eval.bias.demographic_parity_diff <= 0.1",
        "data.checks.passed",
        "card.complete",
    ]
    spec = parse_policy(sample_policy("fraud-ml"))
    production = spec.stages["production"]
    assert production.approvals == ("approver", "risk-owner")
    assert production.expires_seconds == 72 * 3600
    assert production.rollback_for_seconds == 600
    assert spec.stages["staging"].alias == "challenger" and production.alias == "champion"


def test_explain_names_failing_clauses_and_their_values() -> None:
    gate = compile_gate(
        "eval.f1 >= champion.f1 - 0.01 && size(card.missing) == 0 "
        "&& eval.slices['segment=retail'].f1 > 0.8 && (has_champion || eval.rows > 10)",
        GATE_FACTS,
        field=FIELD,
    )
    facts: dict[str, Any] = {
        "eval.f1": 0.80,
        "champion.f1": 0.86,
        "card.missing": ["risks"],
        "eval.slices": {"segment=retail": {"f1": 0.9}},
        "has_champion": False,
        "eval.rows": 100,
    }
    results = explain(gate, facts)
    assert [r.passed for r in results] == [False, False, True, True]
    assert results[0].values == {"champion.f1": 0.86, "eval.f1": 0.80}
    assert results[1].values == {"card.missing": ["risks"]}


def test_a_missing_fact_fails_its_clause_only() -> None:
    gate = compile_gate("eval.roc_auc > 0.9 && card.complete", GATE_FACTS, field=FIELD)
    first, second = explain(gate, {"eval.roc_auc": None, "card.complete": True})
    assert (first.passed, first.error) == (False, "eval.roc_auc has no value")
    assert second.passed
    # has() tests presence without failing; a decisive || operand wins over a missing one.
    guarded = compile_gate("!has(eval.roc_auc) || eval.roc_auc > 0.9", GATE_FACTS, field=FIELD)
    assert explain(guarded, {"eval.roc_auc": None})[0].passed


NUMBERS = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 4))
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
           "==": operator.eq, "!=": operator.ne}  # fmt: skip
ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}


@settings(max_examples=150, deadline=None)
@given(
    clauses=st.lists(
        st.tuples(
            st.sampled_from(["eval.f1", "champion.f1", "eval.latency_p95_ms"]),
            st.sampled_from(sorted(ARITH)),
            NUMBERS,
            st.sampled_from(sorted(COMPARE)),
            NUMBERS,
        ),
        min_size=1,
        max_size=5,
    ),
    values=st.tuples(NUMBERS, NUMBERS, NUMBERS),
)
def test_conjunctions_evaluate_like_python(
    clauses: list[tuple[str, str, float, str, float]], values: tuple[float, float, float]
) -> None:
    facts = dict(zip(["eval.f1", "champion.f1", "eval.latency_p95_ms"], values, strict=True))
    text = " && ".join(f"{f} {a} {x!r} {c} {y!r}" for f, a, x, c, y in clauses)
    gate = compile_gate(text, GATE_FACTS, field=FIELD)
    expected = [COMPARE[c](ARITH[a](facts[f], x), y) for f, a, x, c, y in clauses]
    results = explain(gate, facts)
    assert [r.passed for r in results] == expected
    assert bool(evaluate(gate.tree, facts)) == all(expected)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_any_text_compiles_or_is_invalid(text: str) -> None:
    problem: Invalid | None = None
    try:
        gate = compile_gate(text, GATE_FACTS, field=FIELD)
    except Invalid as exc:
        problem = exc
    if problem is not None:
        assert problem.field == FIELD and problem.message
    else:
        assert gate.clauses


@settings(max_examples=100, deadline=None)
@given(name=st.from_regex(r"[a-z_]{1,12}(\.[a-z_0-9]{1,12}){0,2}", fullmatch=True))
def test_only_declared_facts_are_accepted(name: str) -> None:
    text = f"{name} == {name}"
    known = name in GATE_FACTS
    try:
        compile_gate(text, GATE_FACTS, field=FIELD)
        accepted = True
    except Invalid:
        accepted = False
    assert accepted is known
