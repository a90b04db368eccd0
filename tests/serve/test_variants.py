"""Per-variant figures of a model endpoint on SQLite and PostgreSQL: what workers write adds
up over workers and minutes, a repeated write changes nothing, the figures read back, and a
stage gate over the canary and shadow facts passes or fails as they say."""

from __future__ import annotations

from datetime import timedelta

import pytest

from andon.core.errors import Invalid, NotFound
from andon.policy import service as policy
from andon.registry import service as registry
from andon.serve import service as serve
from andon.serve import variant_stats
from andon.serve.facts import serving_facts
from andon.serve.queries import load_snapshot
from andon.serve.variant_stats import BOUNDS_MS, Tally, TallyKey, bucket_of, quantile_ms
from tests.policy.conftest import TEAM, Line, line  # noqa: F401  (the line fixture)

ENDPOINT = (
    f"name: scorer\nteam: {TEAM}\nkind: model\nmodel: fraud\nalias: live\n"
    "canary: {alias: trial, percent: 10}\nshadow: {alias: dark}\n"
)
GATE = "has_canary && canary.p95_ms < primary.p95_ms * 1.2 && canary.error_rate <= 0.01"


def _tally(ms: float, n: int, *, errors: int = 0, compared: int = 0, agreed: int = 0) -> Tally:
    tally = Tally()
    for i in range(n):
        tally.add(ms, error=i < errors, cost_nanos=20_000)
    tally.compared, tally.agreed = compared, agreed
    return tally


@pytest.fixture
def split(line: Line) -> dict[str, object]:  # noqa: F811
    """fraud v1 live (primary), v2 trial (canary), v3 dark (shadow); the endpoint."""
    refs = [line.model() for _ in range(3)]
    for ref, alias in zip(refs, ("live", "trial", "dark"), strict=True):
        registry.set_alias(line.admin, ref, alias)
    serve.apply_endpoint(line.admin, ENDPOINT)
    versions = [registry.get_version(line.admin, ref) for ref in refs]
    snap = load_snapshot(line.admin.db)
    return {"refs": refs, "versions": versions, "snap": snap}


def _key(split: dict[str, object], variant: str, minute: object) -> TallyKey:
    binding = split["snap"].variants["scorer"][variant]  # type: ignore[attr-defined]
    return TallyKey(
        "scorer",
        variant,
        binding.model,
        binding.alias,
        binding.version,
        binding.model_version_id,
        minute,  # type: ignore[arg-type]
    )


def test_the_snapshot_binds_every_variant(split: dict[str, object]) -> None:
    snap = split["snap"]
    variants = snap.variants["scorer"]  # type: ignore[attr-defined]
    assert {v: (b.alias, b.version) for v, b in variants.items()} == {
        "primary": ("live", 1),
        "canary": ("trial", 2),
        "shadow": ("dark", 3),
    }
    assert snap.bindings["scorer"] == variants["primary"]  # type: ignore[attr-defined]
    assert variants["canary"].variant == "canary"


def test_worker_writes_add_up_and_a_repeat_changes_nothing(
    line: Line,  # noqa: F811
    split: dict[str, object],
) -> None:
    now = line.admin.clock.now()
    minute, before = (
        variant_stats.minute_of(now),
        variant_stats.minute_of(now) - timedelta(minutes=1),
    )
    one = [
        (_key(split, "primary", minute), _tally(10.0, 60, errors=1)),
        (_key(split, "canary", minute), _tally(11.0, 8)),
        (_key(split, "shadow", minute), _tally(3.0, 60, compared=60, agreed=57)),
    ]
    two = [
        (_key(split, "primary", before), _tally(10.0, 40)),
        (_key(split, "canary", before), _tally(11.0, 2)),
    ]
    db = line.admin.db
    assert variant_stats.flush(db, "101-aa", one, now) == 3
    assert variant_stats.flush(db, "101-aa", one, now) == 3  # again: the same totals
    assert variant_stats.flush(db, "202-bb", two, now) == 2
    figures = {r.variant: r for r in serve.endpoint_variants(line["vera"], "scorer")}
    assert list(figures) == ["primary", "canary", "shadow"]
    primary, canary, shadow = figures["primary"], figures["canary"], figures["shadow"]
    assert (primary.requests, primary.errors, primary.error_rate) == (100, 1, 0.01)
    assert (primary.version, primary.alias, canary.version, shadow.version) == (
        1,
        "live",
        2,
        3,
    )
    assert (canary.requests, canary.errors, canary.cost_nanos) == (10, 0, 200_000)
    assert primary.mean_ms == 10.0 and canary.max_ms == 11.0
    low, high = BOUNDS_MS[bucket_of(10.0) - 1], BOUNDS_MS[bucket_of(10.0)]
    assert primary.p95_ms is not None and low <= primary.p95_ms <= high
    assert (shadow.compared, shadow.agreement) == (60, 0.95)
    assert primary.guard_violations == 0
    assert primary.first_minute == before and primary.last_minute == minute
    # The last minute only: the older rows fall out.
    [recent] = [
        r
        for r in serve.endpoint_variants(line["vera"], "scorer", minutes=1)
        if r.variant == "primary"
    ]
    assert recent.requests == 60
    with pytest.raises(Invalid):
        serve.endpoint_variants(line["vera"], "scorer", minutes=0)
    with pytest.raises(NotFound):
        serve.endpoint_variants(line["vera"], "no-such-endpoint")


def test_a_gate_over_the_canary_facts_passes_and_fails_as_the_figures_say(
    line: Line,  # noqa: F811
    split: dict[str, object],
) -> None:
    policy.apply_policy(
        line.admin, f'team: {TEAM}\nstages:\n  staging:\n    gate: "{GATE}"\n', reason="canary"
    )
    now = line.admin.clock.now()
    minute = variant_stats.minute_of(now)
    db = line.admin.db
    variant_stats.flush(
        db,
        "1-a",
        [
            (_key(split, "primary", minute), _tally(20.0, 90)),
            (_key(split, "canary", minute), _tally(21.0, 10)),
        ],
        now,
    )
    refs = split["refs"]
    passed = policy.check_gate(line["alice"], refs[1], "staging")  # type: ignore[index]
    assert passed.passed, passed.clauses
    assert passed.facts["canary.requests"] == 10 and passed.facts["primary.requests"] == 90
    assert passed.facts["has_shadow"] is False
    # A slower canary (another worker's requests in the same minute) fails the latency clause.
    variant_stats.flush(db, "2-b", [(_key(split, "canary", minute), _tally(60.0, 10))], now)
    failed = policy.check_gate(line["alice"], refs[1], "staging")  # type: ignore[index]
    assert not failed.passed
    assert [c["clause"] for c in failed.failed_clauses] == ["canary.p95_ms < primary.p95_ms * 1.2"]
    # Errors fail the error clause too.
    variant_stats.flush(
        db, "3-c", [(_key(split, "canary", minute), _tally(21.0, 10, errors=2))], now
    )
    worse = policy.check_gate(line["alice"], refs[1], "staging")  # type: ignore[index]
    assert {c["clause"] for c in worse.failed_clauses} == {
        "canary.p95_ms < primary.p95_ms * 1.2",
        "canary.error_rate <= 0.01",
    }
    # The primary never ran as a canary: it has no canary facts and fails on has_canary.
    live = policy.check_gate(line["alice"], refs[0], "staging")  # type: ignore[index]
    assert not live.passed and live.facts["canary.requests"] == 0


def test_shadow_facts_compare_with_the_primary_of_the_same_minutes(
    line: Line,  # noqa: F811
    split: dict[str, object],
) -> None:
    now = line.admin.clock.now()
    minute, old = variant_stats.minute_of(now), variant_stats.minute_of(now) - timedelta(hours=1)
    db = line.admin.db
    variant_stats.flush(
        db,
        "1-a",
        [
            (_key(split, "primary", old), _tally(500.0, 50)),  # no shadow ran then
            (_key(split, "primary", minute), _tally(5.0, 30)),
            (_key(split, "shadow", minute), _tally(4.0, 30, compared=40, agreed=30)),
        ],
        now,
    )
    versions = split["versions"]
    with db.read() as session:
        facts = serving_facts(session, versions[2].id)  # type: ignore[index]
    assert facts["has_shadow"] and not facts["has_canary"]
    assert (facts["shadow.requests"], facts["shadow.agreement"]) == (30, 0.75)
    assert facts["primary.requests"] == 30  # the same minutes only
    assert facts["primary.mean_ms"] == 5.0
    assert facts["canary.p95_ms"] is None and facts["shadow.cost_per_1k"] == 0.02


def test_quantiles_come_from_the_histogram() -> None:
    assert quantile_ms({}, 0.95) is None
    tally = Tally()
    for ms in [1.0] * 95 + [100.0] * 5:
        tally.add(ms, error=False)
    p95 = quantile_ms(tally.histogram, 0.95)
    p99 = quantile_ms(tally.histogram, 0.99)
    assert p95 is not None and p99 is not None
    assert BOUNDS_MS[bucket_of(1.0) - 1] <= p95 <= BOUNDS_MS[bucket_of(1.0)]
    assert BOUNDS_MS[bucket_of(100.0) - 1] <= p99 <= BOUNDS_MS[bucket_of(100.0)]
    assert bucket_of(0.0) == 0 and bucket_of(10**9) == len(BOUNDS_MS)
    assert quantile_ms({len(BOUNDS_MS): 3}, 0.5) == BOUNDS_MS[-1]
