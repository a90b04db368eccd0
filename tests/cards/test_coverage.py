"""`lineage coverage`: production model versions whose chain is complete, and what each lacks.

Runs, model versions, alias moves and the dataset -> run -> model version edges are real
registry calls. Evaluations come from :func:`tests.cards.conftest.record_evaluation`; gate
decisions, approvals and promotions have no producer on this branch yet (the policy domain is
built in parallel), so their edges are written with the lineage domain's own ``link``, exactly
as the factory's edge convention says the policy service writes them. The last test promotes
and rolls back through the policy domain itself, now merged.
"""

from __future__ import annotations

from pathlib import Path

from andon.auth import service as auth
from andon.core.context import Context
from andon.lineage.coverage import LINKS, coverage
from andon.lineage.edges import link
from andon.policy import promotion
from andon.policy import service as policy
from andon.registry import service as registry
from tests.cards.conftest import MODEL, Line, record_evaluation
from tests.conftest import as_principal


def decide_and_promote(admin: Context, version_id: str, evaluation_id: str, tag: str) -> None:
    """The policy domain's edges for a gate decision, an approval and a promotion."""
    gate, approval, promotion = f"gd_{tag}", f"apr_{tag}", f"prm_{tag}"
    now = admin.clock.now()
    edges = [
        (version_id, "model_version", gate, "gate_decision"),
        (evaluation_id, "evaluation", gate, "gate_decision"),
        (version_id, "model_version", approval, "approval"),
        (version_id, "model_version", promotion, "promotion"),
        (gate, "gate_decision", promotion, "promotion"),
        (approval, "approval", promotion, "promotion"),
    ]
    with admin.db.transaction() as session:
        for src, src_kind, dst, dst_kind in edges:
            link(session, src_id=src, src_kind=src_kind, dst_id=dst, dst_kind=dst_kind,
                 relation="input", at=now)  # fmt: skip


def test_coverage_names_the_missing_links_until_the_chain_is_complete(
    admin: Context, line: Line, team: str, model_files: dict[str, Path]
) -> None:
    report = coverage(admin)
    [v1] = report.versions  # only the champion is in production; v2 never was
    assert (v1.ref, v1.champion, report.total, report.complete) == (f"{MODEL}@1", True, 1, 0)
    assert v1.links["run"] == [line.run_id] and v1.links["dataset_version"] == [
        line.dataset_version
    ]
    assert v1.missing == ["evaluation", "gate_decision", "approval", "promotion"]

    evaluation = record_evaluation(admin, line.v1, line.dataset_version, {"f1": 0.8})
    assert coverage(admin).versions[0].missing == ["gate_decision", "approval", "promotion"]
    decide_and_promote(admin, line.v1, evaluation, "one")
    report = coverage(admin)
    assert report.versions[0].complete and report.share == 1.0
    assert report.versions[0].links["promotion"] == ["prm_one"]

    # Promoting v2 moves champion: v1 stays a production version (it served), v2 joins.
    registry.set_alias(admin, f"{MODEL}@2", "champion")
    # A version registered without a run lacks the whole upstream half.
    registry.register_model(admin, "scorer", team=team, artifact=model_files["file"])
    registry.set_alias(admin, "scorer@1", "champion")
    report = coverage(admin)
    by_ref = {v.ref: v for v in report.versions}
    assert set(by_ref) == {f"{MODEL}@1", f"{MODEL}@2", "scorer@1"}
    assert not by_ref[f"{MODEL}@1"].champion and by_ref[f"{MODEL}@1"].complete
    assert by_ref[f"{MODEL}@2"].missing == ["evaluation", "gate_decision", "approval", "promotion"]
    assert by_ref["scorer@1"].missing == list(LINKS)
    assert (report.total, report.complete) == (3, 1)
    assert round(report.share, 4) == 0.3333
    doc = report.as_dict()
    assert doc["share"] == 0.3333 and doc["links"] == list(LINKS)


def test_coverage_shows_only_teams_the_reader_may_see(admin: Context, line: Line) -> None:
    auth.create_team(admin, "other")
    auth.create_principal(admin, "olga")
    auth.bind_role(admin, "olga", "viewer", scope="team", target="other")
    assert coverage(as_principal(admin, "olga")).versions == []
    assert coverage(as_principal(admin, "olga")).share == 1.0
    auth.bind_role(admin, "olga", "viewer", scope="team", target="fraud-ml")
    assert [v.ref for v in coverage(as_principal(admin, "olga")).versions] == [f"{MODEL}@1"]


def test_versions_promoted_through_policy_stay_in_production_after_a_rollback(
    admin: Context, line: Line
) -> None:
    policy.apply_policy(
        admin, "team: fraud-ml\ndescription: coverage\nstages:\n  production:\n    gate: 'true'\n"
    )
    record_evaluation(admin, line.v2, line.dataset_version, {"f1": 0.9})
    promotion.promote(admin, f"{MODEL}@2", "production")
    promotion.rollback(admin, MODEL, "production", reason="coverage test")
    by_ref = {v.ref: v for v in coverage(admin).versions}
    assert set(by_ref) == {f"{MODEL}@1", f"{MODEL}@2"}
    assert by_ref[f"{MODEL}@1"].champion and not by_ref[f"{MODEL}@2"].champion
    # The policy domain's own edges: a gate decision and a promotion; no approval was needed.
    v2 = by_ref[f"{MODEL}@2"]
    assert v2.links["gate_decision"] and v2.links["promotion"]
    assert v2.missing == ["approval"]
