"""Model cards gathered from the line, on SQLite and PostgreSQL: facts, narrative, permissions."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.auth import service as auth
from andon.cards import narrative
from andon.cards import service as cards
from andon.core.clock import FrozenClock
from andon.core.context import Context
from andon.core.errors import Forbidden, NotFound
from andon.policy import approvals
from andon.policy import service as policy
from andon.registry import service as registry
from tests.cards.conftest import CANDIDATE_METRICS, CHAMPION_METRICS, MODEL, Line, record_evaluation
from tests.conftest import as_principal


def test_a_card_gathers_every_fact_of_the_line(
    admin: Context, line: Line, model_files: dict[str, Path]
) -> None:
    auth.add_member(admin, "fraud-ml", "admin", owner=True)
    narrative.edit_section(admin, f"{MODEL}@1", "purpose", "Flags card fraud.")
    evaluation = record_evaluation(
        admin,
        line.v2,
        line.dataset_version,
        CANDIDATE_METRICS,
        champion_version_id=line.v1,
        champion_metrics=CHAMPION_METRICS,
    )
    card = cards.model_card(admin, f"{MODEL}@2")
    assert (card.id, card.ref, card.team, card.owners) == (
        line.v2,
        f"{MODEL}@2",
        "fraud-ml",
        ["admin"],
    )
    # Narrative carries forward from v1, completeness names the rest.
    assert card.section("purpose").text == "Flags card fraud."
    assert card.section("purpose").from_version == 1
    assert not card.complete and card.missing == ["intended_users", "limitations", "risks"]
    assert [s.name for s in card.sections] == list(narrative.SECTIONS)
    # Training run and data, with the data domain's row count and schema hash.
    assert card.training_run is not None and card.training_run.id == line.run_id
    assert card.training_run.params["note"] == "<i>x</i>"
    assert card.training_run.metrics == {"f1": 0.85}
    assert card.training_run.git_commit == "abc123"
    [data] = card.training_data
    assert (data.id, data.dataset, data.row_count) == (line.dataset_version, "fraud-ml/orders", 5)
    assert data.schema_hash and len(data.schema_hash) >= 12
    # Evaluation: metrics without slices and bias, which are their own facts; champion deltas.
    ev = card.evaluation
    assert ev is not None and ev.id == evaluation and ev.champion == f"{MODEL}@1"
    assert ev.metrics["f1"] == 0.86 and "slices" not in ev.metrics and "bias" not in ev.metrics
    assert ev.slices["segment=retail"] == {"rows": 3, "f1": 0.87}
    assert ev.bias is not None and ev.bias["demographic_parity_diff"] == 0.03
    assert ev.deltas["f1"] == pytest.approx(0.02)
    assert ev.dataset.row_count == 5
    # Artifact and aliases; approvals empty until the policy domain fills them.
    assert card.artifact.format == "skops" and card.artifact.digest.startswith("sha256:")
    assert card.artifact.size == model_files["skops"].stat().st_size
    assert card.approvals == []
    assert cards.model_card(admin, f"{MODEL}@champion").id == line.v1
    assert cards.model_card(admin, f"{MODEL}@champion").aliases == ["champion"]
    assert cards.model_card(admin, line.v1).ref == f"{MODEL}@1"  # a version id works too


def test_the_latest_evaluation_wins_and_a_bare_version_has_none(
    admin: Context, line: Line, clock: FrozenClock
) -> None:
    assert cards.model_card(admin, f"{MODEL}@1").evaluation is None
    record_evaluation(admin, line.v1, line.dataset_version, {"f1": 0.5})
    clock.advance(seconds=60)
    record_evaluation(admin, line.v1, line.dataset_version, {"f1": 0.7})
    ev = cards.model_card(admin, f"{MODEL}@1").evaluation
    assert ev is not None and ev.metrics == {"f1": 0.7} and ev.champion is None


def test_a_trusted_pickle_names_who_trusted_it(
    admin: Context, team: str, model_files: dict[str, Path]
) -> None:
    registry.register_model(
        admin,
        "legacy",
        team=team,
        artifact=model_files["pickle"],
        trust_pickle=True,
        reason="vendor model",
    )
    card = cards.model_card(admin, "legacy@1")
    assert card.artifact.trusted_pickle
    assert card.artifact.trusted_by is not None
    assert (card.artifact.trusted_by.by, card.artifact.trusted_by.reason) == (
        "admin",
        "vendor model",
    )
    assert card.training_run is None and card.training_data == []


def test_unknown_models_and_readers_without_grant_are_refused(admin: Context, line: Line) -> None:
    with pytest.raises(NotFound, match="no model named 'nope'"):
        cards.model_card(admin, "nope@1")
    with pytest.raises(NotFound, match="no version 9"):
        cards.model_card(admin, f"{MODEL}@9")
    with pytest.raises(NotFound, match="no model version"):
        cards.model_card(admin, "mv_00000000000000000000000000")
    auth.create_principal(admin, "mallory")
    with pytest.raises(Forbidden):
        cards.model_card(as_principal(admin, "mallory"), f"{MODEL}@1")
    auth.bind_role(admin, "mallory", "viewer", scope="team", target="fraud-ml")
    assert cards.model_card(as_principal(admin, "mallory"), f"{MODEL}@1").version == 1


def test_the_card_lists_the_approvals_of_its_promotion_requests(admin: Context, line: Line) -> None:
    policy.apply_policy(
        admin,
        "team: fraud-ml\ndescription: card\nstages:\n  production:\n    gate: 'true'\n"
        "    approvals: [approver]\n",
    )
    request = approvals.request_approval(admin, f"{MODEL}@2", "production")
    auth.create_principal(admin, "ravi")
    auth.bind_role(admin, "ravi", "approver", scope="team", target="fraud-ml")
    approvals.decide_approval(
        as_principal(admin, "ravi"), request.id, "approve", role="approver", reason="<ok>"
    )
    [approval] = cards.model_card(admin, f"{MODEL}@2").approvals
    assert (approval.stage, approval.role, approval.approver, approval.reason) == (
        "production", "approver", "ravi", "<ok>"
    )  # fmt: skip
    assert cards.model_card(admin, f"{MODEL}@1").approvals == []
