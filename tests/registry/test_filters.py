"""The --where grammar: what parses, what it means, and clear errors for what does not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.core.errors import Invalid
from andon.registry.filters import Clause, parse


def test_clauses_parse() -> None:
    assert parse("metrics.f1 > 0.8") == [Clause("metrics", "f1", ">", 0.8)]
    assert parse("metrics.val/auc>=1e-3 and params.C = '1.0' and status != failed") == [
        Clause("metrics", "val/auc", ">=", 0.001),
        Clause("params", "C", "=", "1.0"),
        Clause("status", None, "!=", "failed"),
    ]
    assert parse('name = "my run" AND metrics.loss <= -2') == [
        Clause("name", None, "=", "my run"),
        Clause("metrics", "loss", "<=", -2.0),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("metrics.f1 >", "FIELD OP VALUE"),
        ("metrics.f1 ~ 3", "cannot read"),
        ("metrics.f1 > 0.8 or status = finished", "expected 'and'"),
        ("metrics.f1 > high", "numbers"),
        ("params.C > 1", "use = or !="),
        ("status = exploded", "status is one of"),
        ("owner = bob", "unknown field"),
        ("metrics.f1 > 0.8 and", "FIELD OP VALUE"),
        ("0.8 < metrics.f1", "expected a field"),
        ("metrics.f1 = = 1", "expected a value"),
        ("metrics.f1; DROP TABLE runs", "cannot read"),
    ],
)
def test_bad_syntax_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(Invalid, match=message) as info:
        parse(text)
    assert info.value.field == "where"


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("metrics.f1 params.C status name =!<>'\"0.8-and_x;")),
        max_size=60,
    )
)
def test_any_text_parses_or_is_invalid(text: str) -> None:
    error: Invalid | None = None
    try:
        clauses = parse(text)
    except Invalid as exc:
        error, clauses = exc, []
    if error is not None:
        assert error.field == "where" and "\n" not in str(error)
    else:
        assert clauses and all(c.op in {"=", "!=", ">", ">=", "<", "<="} for c in clauses)
