"""Two promotions of one model at once: the alias moves by compare-and-swap, never both blindly."""

from __future__ import annotations

import threading

from andon.core.errors import Conflict
from andon.policy import promotion
from andon.policy import service as policy
from andon.policy.records import PromotionRecord
from andon.registry import service as registry
from tests.policy.conftest import Line, policy_yaml


def test_concurrent_promotions_keep_a_consistent_history(line: Line) -> None:
    policy.apply_policy(line.admin, policy_yaml(gate="true", approvals=()))
    refs = [line.model() for _ in range(4)]
    outcomes: list[PromotionRecord | Conflict] = []
    for a, b in ((refs[0], refs[1]), (refs[2], refs[3])):
        barrier = threading.Barrier(2)
        round_results: list[PromotionRecord | Conflict] = []

        def promote(
            ref: str,
            results: list[PromotionRecord | Conflict] = round_results,
            gate: threading.Barrier = barrier,
        ) -> None:
            gate.wait()
            try:
                results.append(promotion.promote(line["alice"], ref, "production"))
            except Conflict as exc:
                results.append(exc)

        threads = [threading.Thread(target=promote, args=(ref,)) for ref in (a, b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(round_results) == 2
        outcomes += round_results
    won = [o for o in outcomes if isinstance(o, PromotionRecord)]
    assert won, "at least one promotion of each round wins"
    # Every winner moved the alias from the version the previous winner left: no lost update.
    history = list(reversed(promotion.promotions(line.admin, "fraud", stage="production")))
    assert len(history) == len(won)
    previous = None
    for step in history:
        assert step.from_version == previous
        previous = step.to_version
    assert registry.get_version(line.admin, "fraud@champion").version == previous
