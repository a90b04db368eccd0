"""The tag schema and cardinality guard: keys outside a team's schema or past their daily
distinct-value limit are dropped or hashed before they are stored, and the report says what a
schema keeps and saves."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Forbidden, Invalid
from andon.events import service as events
from andon.telemetry import service as telemetry
from andon.telemetry import tags
from andon.telemetry.pipeline import Pipeline
from tests.conftest import as_principal
from tests.telemetry.rows import spans

WIDE_KEYS = [f"k{i:03d}" for i in range(120)]
KEPT = WIDE_KEYS[:35]


@pytest.fixture
def shop(admin: Context) -> Context:
    auth.create_team(admin, "shop", owners=["admin"])
    return admin


def send(ctx: Context, attrs: list[dict[str, Any]], first: int = 0) -> None:
    """Error spans (always kept) with these attributes, one trace each."""
    rows = [{"trace": first + i, "span": first + i, "status": "error", "attrs": a}
            for i, a in enumerate(attrs)]  # fmt: skip
    telemetry.ingest(ctx, "shop", "spans", spans(rows, team="shop"))


def fold(ctx: Context) -> Pipeline:
    pipeline = Pipeline(ctx.db, ctx.settings)
    pipeline.run_once()
    return pipeline


def stored(ctx: Context, first: int = 0) -> list[dict[str, Any]]:
    rows = telemetry.query(ctx, "SELECT trace_id, attributes FROM spans ORDER BY trace_id").table
    return [json.loads(a) for t, a in zip(*rows.to_pydict().values(), strict=True)
            if int(t, 16) - 1 >= first]  # fmt: skip


def today() -> Any:
    return datetime.now(UTC).date()


def test_the_seed_case_120_high_cardinality_tags_brought_to_35(shop: Context) -> None:
    wide = [{k: f"{k}-{n}" for k in WIDE_KEYS} for n in range(40)]
    send(shop, wide)
    fold(shop)
    schema = {"tags": KEPT}
    before = telemetry.cardinality_report(shop, "shop", today())
    assert (before.schema, before.keys_before, before.keys_after) == ("none", 120, 120)
    assert before.keys[0].distinct == 40  # every key took 40 values
    proposal = telemetry.cardinality_report(shop, "shop", today(), schema)
    assert (proposal.keys_before, proposal.keys_after) == (120, 35)
    size = sum(len(k) + len(json.dumps(f"{k}-{n}")) for k in WIDE_KEYS[35:] for n in range(40))
    assert proposal.bytes_before - proposal.bytes_after == size  # exactly the 85 keys' bytes
    assert {k.key for k in proposal.keys if k.verdict == "drop"} == set(WIDE_KEYS[35:])

    telemetry.set_tags(shop, "shop", schema, reason="the seed: 35 tags a dashboard reads")
    send(shop, wide, first=100)
    done = fold(shop)
    assert done.tags["shop"].rule_for("andon.endpoint") is not None  # andon's own keys stay
    after = stored(shop, first=100)
    assert len(after) == 40 and all(set(a) == set(KEPT) for a in after)
    report = telemetry.cardinality_report(shop, "shop", today())
    assert report.schema == "team" and report.keys_after == 35
    assert {k.key: k.guarded for k in report.keys if k.guarded} == dict.fromkeys(WIDE_KEYS[35:], 40)


def test_past_its_limit_a_tag_takes_no_new_value_that_day(shop: Context) -> None:
    telemetry.set_tags(shop, "shop", {"tags": {"user.id": {"max_distinct": 3}, "route": {}}},
                       reason="bounded users")  # fmt: skip
    send(shop, [{"user.id": f"u{i}", "route": "/a"} for i in range(5)])
    fold(shop)
    # a fresh writer (a restart) sees the same admitted values: they live in the hot file
    send(shop, [{"user.id": u, "route": "/b"} for u in ("u1", "u4", "u9", "u0")], first=10)
    fold(shop)
    first, second = stored(shop)[:5], stored(shop, first=10)
    assert [a.get("user.id") for a in first] == ["u0", "u1", "u2", None, None]
    assert [a.get("user.id") for a in second] == ["u1", None, None, "u0"]
    assert all(a["route"] for a in first + second)  # the other tag is untouched
    report = telemetry.cardinality_report(shop, "shop", today())
    user = next(k for k in report.keys if k.key == "user.id")
    assert (user.distinct, user.guarded) == (3, 4)


def test_hashed_tags_keep_a_bounded_stable_bucket(shop: Context) -> None:
    telemetry.set_tags(
        shop, "shop",
        {"outside": "hash", "buckets": 8, "tags": {"user.id": {"max_distinct": 0, "over_limit": "hash"}}},
        reason="group by user, without users",
    )  # fmt: skip
    send(shop, [{"user.id": f"u{i % 20}", "session": f"s{i}"} for i in range(60)])
    fold(shop)
    rows = stored(shop)
    buckets = {a["user.id"] for a in rows} | {a["session"] for a in rows}
    assert buckets <= {f"#{n}" for n in range(8)} and len(buckets) > 1
    by_user: dict[int, set[str]] = {}
    for i, a in enumerate(rows):
        by_user.setdefault(i % 20, set()).add(a["user.id"])
    assert all(len(b) == 1 for b in by_user.values())  # one value, one bucket


def test_keys_the_sampling_policies_test_are_always_kept(shop: Context) -> None:
    telemetry.set_sampling(shop, "shop", {"policies": [
        {"name": "vip", "type": "string_attribute",
         "string_attribute": {"key": "tier", "values": ["gold"]}}]}, reason="keep gold")  # fmt: skip
    telemetry.set_tags(shop, "shop", {"tags": ["route"]}, reason="routes only")
    send(shop, [{"tier": "gold", "route": "/a", "noise": "x"}])
    fold(shop)
    assert stored(shop) == [{"tier": "gold", "route": "/a"}]


def test_outside_keep_limits_only_the_listed_tags(shop: Context) -> None:
    telemetry.set_tags(shop, "shop", {"outside": "keep", "tags": {"user.*": {"max_distinct": 1}}},
                       reason="limit users, keep the rest")  # fmt: skip
    send(shop, [{"user.id": "a", "user.name": "x", "other": 1}, {"user.id": "b", "other": 2}])
    fold(shop)
    assert stored(shop) == [{"user.id": "a", "user.name": "x", "other": 1}, {"other": 2}]


def test_rows_whose_attributes_are_not_an_object_are_left_as_they_are(shop: Context) -> None:
    telemetry.set_tags(shop, "shop", {"tags": ["route"]}, reason="routes only")
    table = spans([{"trace": 1, "span": 1, "status": "error", "attrs": {"route": "/a", "x": 1}},
                   {"trace": 2, "span": 2, "status": "error"}], team="shop")  # fmt: skip
    index = table.schema.get_field_index("attributes")
    import pyarrow as pa

    table = table.set_column(index, table.schema.field(index),
                             pa.array(['{"route":"/a","x":1}', "[1, 2]"]))  # fmt: skip
    telemetry.ingest(shop, "shop", "spans", table)
    fold(shop)
    got = telemetry.query(shop, "SELECT attributes FROM spans ORDER BY trace_id").table
    assert got.column("attributes").to_pylist() == ['{"route":"/a"}', "[1, 2]"]


def test_setting_a_schema_is_audited_and_needs_the_teams_sampling_right(shop: Context) -> None:
    auth.create_principal(shop, "val")
    auth.bind_role(shop, "val", "viewer", scope="team", target="shop")
    with pytest.raises(Forbidden):
        telemetry.set_tags(as_principal(shop, "val"), "shop", {"tags": ["a"]}, reason="try")
    done = telemetry.set_tags(shop, "shop", {"tags": ["a"]}, reason="first schema")
    assert done.tags == tags.as_document(tags.parse({"tags": ["a"]}))
    assert "telemetry.tags_changed" in [e.type for e in events.list_events(shop, limit=1000)]
    assert telemetry.set_tags(shop, "shop", None, reason="back to as sent").tags is None


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"tags": ["a"], "limit": 3}, "limit"),
        ({}, "tags"),
        ({"tags": "a"}, "tags"),
        ({"tags": ["a"], "outside": "burn"}, "outside"),
        ({"tags": ["a"], "over_limit": "keep"}, "over_limit"),
        ({"tags": ["a"], "max_distinct": -1}, "max_distinct"),
        ({"tags": ["a"], "max_distinct": True}, "max_distinct"),
        ({"tags": ["a"], "buckets": 1}, "buckets"),
        ({"tags": {"a": {"max_distinct": "ten"}}}, "tags.a.max_distinct"),
        ({"tags": {"a": {"limit": 3}}}, "tags.a.limit"),
        ({"tags": {"a": {"over_limit": "keep"}}}, "tags.a.over_limit"),
        ({"tags": {"a": 3}}, "tags.a"),
        ({"tags": ['a"b']}, 'tags.a"b'),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_bad_schema_is_refused_naming_the_field(document: Any, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        tags.parse(document)
    assert caught.value.field == field


def test_an_exact_key_wins_over_patterns_and_a_longer_pattern_over_a_shorter() -> None:
    schema = tags.parse({"tags": {"user.*": {"max_distinct": 5}, "user.id*": {"max_distinct": 7},
                                  "user.id": {"max_distinct": None}, "*": {}}})  # fmt: skip
    assert schema.rule_for("user.id").max_distinct is None  # type: ignore[union-attr]
    assert schema.rule_for("user.idx").max_distinct == 7  # type: ignore[union-attr]
    assert schema.rule_for("user.name").max_distinct == 5  # type: ignore[union-attr]
    assert schema.rule_for("other").max_distinct == 1000  # type: ignore[union-attr]
    assert tags.parse({"tags": ["a"]}).rule_for("b") is None
