"""One promotion wins: two processes promoting different versions to one stage at once.

The probe promoted two versions to one stage concurrently and both succeeded in 13 of 13
rounds. Here two worker processes (their own interpreters, database connections and
transactions) race in every round: both read the version the stage holds, wait for each other,
then promote their own version expecting that one. Exactly one may win; the other must get
Conflict naming the winner. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, insert, text, update

from andon.auth import service as auth
from andon.core.config import Settings
from andon.core.context import Context
from andon.core.errors import Conflict
from andon.core.ids import new_id
from andon.policy import promotion
from andon.policy import service as policy
from andon.registry import service as registry
from andon.store.db import Database
from andon.store.tables import policy as p
from andon.store.tables import registry as r
from tests.cli.conftest import Run
from tests.policy.conftest import TEAM, Line, policy_yaml
from tests.server import running_server

ROUNDS = 20


def _line(admin: Context, versions: int) -> tuple[Line, list[str]]:
    """Team fraud-ml with an open production stage (gate ``true``, no approvals), model
    ``fraud`` with ``versions`` versions, and version 1 promoted to production."""
    auth.create_team(admin, TEAM)
    policy.apply_policy(admin, policy_yaml(gate="true", approvals=()))
    line = Line(admin)
    refs = [line.model() for _ in range(versions)]
    promotion.promote(admin, refs[0], "production")
    return line, refs


def _racer(
    url: str, home: str, refs: list[str], barrier: Any, results: Any
) -> None:  # pragma: no cover - runs in a worker process
    """Promote ``refs[k]`` in round ``k``, in step with the other worker."""
    settings = Settings(home=Path(home), database_url=url)
    db = Database.from_settings(settings)
    ctx = auth.context_for(db, settings, "admin")
    try:
        for k, ref in enumerate(refs):
            barrier.wait(timeout=120)  # the previous round is over for both
            held = registry.get_version(ctx, "fraud@champion").version
            barrier.wait(timeout=120)  # both have read the stage: now race
            try:
                done = promotion.promote(ctx, ref, "production", expected_version=held)
                results.put((k, "won", done.to_version, done.from_version, held))
            except Conflict as exc:
                results.put((k, "lost", exc.details.get("winner"), str(exc), held))
            except Exception as exc:
                results.put((k, "error", repr(exc), None, held))
    finally:
        db.dispose()


def test_of_two_processes_promoting_at_once_exactly_one_wins(
    admin: Context, settings: Settings, db_url: str
) -> None:
    _, refs = _line(admin, 1 + 2 * ROUNDS)
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(2)
    results = spawn.Queue()
    mine = [refs[1 + 2 * k] for k in range(ROUNDS)], [refs[2 + 2 * k] for k in range(ROUNDS)]
    workers = [
        spawn.Process(target=_racer, args=(db_url, str(settings.home), list(r), barrier, results))
        for r in mine
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in range(2 * ROUNDS)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    by_round: dict[int, list[tuple[Any, ...]]] = {}
    for outcome in outcomes:
        by_round.setdefault(outcome[0], []).append(outcome)
    assert sorted(by_round) == list(range(ROUNDS))
    previous = 1
    for k in range(ROUNDS):
        pair = by_round[k]
        assert all(o[4] == previous for o in pair), pair  # both read the last winner
        won = [o for o in pair if o[1] == "won"]
        lost = [o for o in pair if o[1] == "lost"]
        assert len(won) == 1 and len(lost) == 1, f"round {k}: {pair}"
        winner = won[0][2]
        assert won[0][3] == previous  # the winner moved the stage from what both read
        assert lost[0][2] == winner, pair  # the loser is told who won ...
        assert f"moved to fraud@{winner} (promoted by admin)" in lost[0][3]
        assert "nothing changed" in lost[0][3]
        previous = winner
    # The history holds exactly the winners, each moving the stage on from the one before.
    history = list(reversed(promotion.promotions(admin, "fraud", stage="production")))
    assert len(history) == 1 + ROUNDS
    assert [h.from_version for h in history[1:]] == [h.to_version for h in history[:-1]]
    assert registry.get_version(admin, "fraud@champion").version == previous


def test_a_promotion_that_read_a_stale_stage_changes_nothing(admin: Context) -> None:
    """The loser's side, in one process: it read v1, v2 won meanwhile; v3 is refused."""
    _, refs = _line(admin, 3)
    promotion.promote(admin, refs[1], "production", expected_version=1)
    before = promotion.promotions(admin, "fraud")
    with pytest.raises(Conflict) as caught:
        promotion.promote(admin, refs[2], "production", expected_version=1)
    assert caught.value.details["winner"] == 2
    assert "promotion of fraud@3 lost: stage production moved to fraud@2" in str(caught.value)
    assert promotion.promotions(admin, "fraud") == before
    assert registry.get_version(admin, "fraud@champion").version == 2


def test_the_cli_loser_exits_1_naming_the_winner(admin: Context, db_url: str, run: Run) -> None:
    _, refs = _line(admin, 3)
    promotion.promote(admin, refs[1], "production")
    env = {"ANDON_DATABASE_URL": db_url}
    result: subprocess.CompletedProcess[str] = run(
        "model", "promote", refs[2], "--stage", "production", "--expect", "1", env=env
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "stage production moved to fraud@2 (promoted by admin)" in result.stderr
    assert registry.get_version(admin, "fraud@champion").version == 2


def test_rest_maps_the_lost_race_to_409_naming_the_winner(admin: Context) -> None:
    _, refs = _line(admin, 3)
    promotion.promote(admin, refs[1], "production")
    _, token = auth.create_token(admin, "admin")
    with running_server(admin) as base:
        response = httpx.post(
            f"{base}/api/v1/models/{TEAM}/fraud/versions/3/promotions/production",
            json={"expected_version": 1},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,  # a promotion runs the gate and checks: over httpx's 5 s on a loaded CI
        )
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    doc = response.json()
    assert doc["winner"] == 2
    assert "moved to fraud@2" in doc["detail"]
    assert registry.get_version(admin, "fraud@champion").version == 2


def test_a_stage_moved_away_and_back_meanwhile_is_caught_by_the_history_head(
    admin: Context, backend: str, db_url: str
) -> None:
    """ABA: the request reads fraud@1; before it moves, fraud@2 is promoted and rolled back
    (the alias holds 1 again). The alias CAS alone would pass; the history's head does not.

    On PostgreSQL the other session holds the alias row while the request waits on it, so the
    interleaving is exact: the moves commit only once the request is blocked in its UPDATE.
    """
    if backend != "postgresql":
        pytest.skip("the interleaving needs a row lock another session waits on (PostgreSQL)")
    _, refs = _line(admin, 3)
    two = registry.get_version(admin, refs[1])
    engine = create_engine(db_url)
    outcome: list[object] = []
    with engine.connect() as other, engine.connect() as watch:
        with other.begin():
            with admin.db.read() as session:
                mid = session.scalar(text("SELECT id FROM models WHERE name = 'fraud'"))
            alias = update(r.ModelAlias).where(r.ModelAlias.model_id == mid)
            other.execute(alias.values(version=2))
            at = admin.clock.now()
            for kind, was, now in (("promote", 1, 2), ("rollback", 2, 1)):
                other.execute(
                    insert(p.Promotion).values(
                        id=new_id("promotion"),
                        model_id=mid,
                        model_version_id=two.id,
                        stage="production",
                        alias="champion",
                        kind=kind,
                        from_version=was,
                        to_version=now,
                        reason="",
                        promoted_by="mallory",
                        promoted_at=at,
                    )
                )
            other.execute(alias.values(version=1))

            def attempt() -> None:
                try:
                    outcome.append(promotion.promote(admin, refs[2], "production"))
                except Conflict as exc:
                    outcome.append(exc)

            thread = threading.Thread(target=attempt)
            thread.start()
            waiting = text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            for _ in range(600):
                if watch.execute(waiting).scalar() or not thread.is_alive():
                    break
                time.sleep(0.05)
            assert thread.is_alive(), outcome  # it waits on the alias row
        # ... the away-and-back commits here; the request's UPDATE then matches version 1.
        thread.join(timeout=60)
    engine.dispose()
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    assert outcome[0].details["winner"] == 1
    assert "moved to fraud@1 (rolled back by mallory)" in str(outcome[0])
    assert registry.get_version(admin, "fraud@champion").version == 1
    assert len(promotion.promotions(admin, "fraud")) == 3
