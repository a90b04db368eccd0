"""Ids sort by time and carry their prefix; canonical JSON is stable."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from andon.core.canonical import canonical_json, digest
from andon.core.ids import PREFIXES, new_id


def test_ids_are_prefixed_unique_and_sortable() -> None:
    first = new_id("team")
    time.sleep(0.002)
    later = [new_id("team") for _ in range(1000)]
    assert first.startswith("tm_") and len(first) == 3 + 26
    assert len(set(later)) == 1000
    assert all(first < other for other in later)
    assert set(PREFIXES) >= {"principal", "team", "token", "audit", "event"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_canonical_json_ignores_key_order(value: dict[str, object]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_json(value) == canonical_json(reordered)
    assert digest(value) == digest(reordered)


def test_canonical_json_form() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert canonical_json({"b": 1, "a": [moment, "é"]}) == (
        '{"a":["2026-01-02T03:04:05+00:00","é"],"b":1}'
    )
