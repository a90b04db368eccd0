"""A YAML text past a bound (expansion, nesting depth, integer digits) is refused, quickly, by
every parser that loads one."""

from __future__ import annotations

import pytest

from andon.core.errors import Invalid
from andon.core.yaml_limits import MAX_DEPTH, MAX_INT_DIGITS, load_bounded, require_bounded
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


def test_nesting_is_read_up_to_the_bound_and_refused_past_it() -> None:
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_bounded(f"a: {at_limit[1:-1]}", source="doc") is not None  # mapping + 99 lists
    with pytest.raises(Invalid, match=f"doc nests deeper than {MAX_DEPTH} levels \\(line 2\\)"):
        load_bounded(f"x: 1\na: {at_limit}", source="doc")
    block = "a:\n  " + "- " * MAX_DEPTH + "x\n"
    with pytest.raises(Invalid, match="nests deeper"):
        load_bounded(block, source="doc")


def test_integers_are_read_up_to_the_bound_and_refused_past_it() -> None:
    assert load_bounded(f"n: {'7' * MAX_INT_DIGITS}", source="doc") == {"n": int("7" * 1000)}
    assert load_bounded("n: 1_000\nh: 0x1F\ns: '99999'", source="doc") == {
        "n": 1000,
        "h": 31,
        "s": "99999",
    }
    with pytest.raises(Invalid, match="doc holds an integer of 1,001 digits \\(line 1\\)"):
        load_bounded(f"n: {'7' * (MAX_INT_DIGITS + 1)}", source="doc")
    # A quoted string of digits is text, not an integer: no bound beyond the document's size.
    assert load_bounded(f"s: '{'7' * 5000}'", source="doc") == {"s": "7" * 5000}


def test_timestamps_false_keeps_unquoted_dates_as_strings_and_every_bound() -> None:
    text = "day: 2024-05-01\nat: 2024-05-01T10:00:00Z\nn: 7\n"
    assert load_bounded(text, source="c", timestamps=False) == {
        "day": "2024-05-01",
        "at": "2024-05-01T10:00:00Z",
        "n": 7,
    }
    assert not isinstance(load_bounded(text, source="c")["day"], str)
    with pytest.raises(Invalid, match="nests deeper"):
        load_bounded("a: " + "[" * 200 + "]" * 200, source="c", timestamps=False)
    with pytest.raises(Invalid, match="digits"):
        load_bounded("n: " + "9" * 2000, source="c", timestamps=False)
