"""A YAML text that expands past the bound is refused, quickly, by every parser that loads one."""

from __future__ import annotations

import pytest

from andon.core.errors import Invalid
from andon.core.yaml_limits import require_bounded
from andon.data.contracts import parse_contract
from andon.evaluate.suite import parse_suite
from andon.policy.spec import parse_policy

# Nine levels of ten aliases: 10**9 strings once expanded, 600 bytes of text.
LAUGHS = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
)


def test_require_bounded_counts_expanded_values() -> None:
    shared = ["x"] * 10
    require_bounded({"k": [shared, shared]}, source="doc", limit=25)  # 1 + 1 + 1 + 2 * 11
    with pytest.raises(Invalid, match="doc expands to more than 24 values"):
        require_bounded({"k": [shared, shared]}, source="doc", limit=24)


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (lambda t: parse_contract(t, source="contract"), LAUGHS + "apiVersion: v3.0.2\n"),
        (lambda t: parse_suite(t, source="suite"), LAUGHS + "name: s\n"),
        (parse_policy, LAUGHS + "team: t\n"),
    ],
)
def test_billion_laughs_is_refused_before_anything_walks_it(parse: object, text: str) -> None:
    with pytest.raises(Invalid, match="expands to more than 200,000 values"):
        parse(text)  # type: ignore[operator]
