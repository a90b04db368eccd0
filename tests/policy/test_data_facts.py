"""Data facts: the latest checks over a model's training dataset versions, on real DuckDB scans."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from andon.core.errors import GateFailed
from andon.data import service as data
from andon.data.facts import training_data_facts
from andon.policy import approvals, promotion
from andon.policy import service as policy
from andon.registry import service as registry
from tests.policy.conftest import Line, policy_yaml, snapshot


def _contract(key: str, ids_sql: str) -> str:
    """A one-table contract (unique ``id``) over a Parquet file built by ``ids_sql``."""
    import duckdb

    folder = Path(tempfile.mkdtemp(prefix="andon-policy-data-"))
    duckdb.connect().execute(f"COPY ({ids_sql}) TO '{folder / 'orders.parquet'}'")
    path = folder / "c.odcs.yaml"
    path.write_text(
        f"apiVersion: v3.0.2\nkind: DataContract\nid: {key}\nversion: 1.0.0\n"
        "status: active\nservers: [{server: local, type: parquet, path: .}]\n"
        "schema: [{name: orders, properties: [{name: id, logicalType: integer, "
        "unique: true}]}]\n"
    )
    return str(path)


def _trained_on(line: Line, contract: str) -> tuple[str, str]:
    """Check ``contract``, train a run on the checked version, register a model from it."""
    data.apply_contract(line.admin, contract, "fraud-ml")
    checked = data.run_checks(line.admin, contract)
    version_id = checked.dataset_version["orders"]
    run = registry.create_run(line.admin, "train", "fraud-ml")
    registry.log_to_run(line.admin, run.id, datasets=[version_id])
    registry.end_run(line.admin, run.id)
    ref = line.model("fraud", run_id=run.id)
    line.complete_card(ref)
    line.add_evaluation(ref)
    return ref, version_id


def test_clean_training_data_passes(line: Line) -> None:
    policy.apply_policy(line.admin, policy_yaml(gate="data.checks.passed && data.freshness.ok"))
    ref, version_id = _trained_on(line, _contract("orders-ok", "SELECT range AS id FROM range(5)"))
    decision = policy.check_gate(line["alice"], ref, "production")
    assert decision.passed
    assert decision.facts["data.checks.checked"] == 1 and decision.facts["data.versions"] == 1
    with line.admin.db.read() as session:
        facts = training_data_facts(session, [version_id])
    assert facts.passed and not facts.red and facts.versions[0].check_run_id


def test_red_training_data_refuses_promotion(line: Line) -> None:
    policy.apply_policy(line.admin, policy_yaml(gate="true"))
    ref, _ = _trained_on(line, _contract("orders-bad", "SELECT range % 2 AS id FROM range(6)"))
    decision = policy.check_gate(line["alice"], ref, "production")
    assert decision.passed and decision.facts["data.checks.passed"] is False
    assert decision.facts["data.checks.red"] is True
    req = approvals.request_approval(line["alice"], ref, "production")
    approvals.decide_approval(line["gita"], req.id, "approve", role="approver", reason="ok")
    approvals.decide_approval(line["hugo"], req.id, "approve", role="risk-owner", reason="ok")
    before = snapshot(line.admin)
    with pytest.raises(GateFailed, match="training data checks are red") as refused:
        promotion.promote(line["alice"], ref, "production")
    assert "orders.id" in str(refused.value)
    assert snapshot(line.admin) == before


def test_unchecked_or_absent_training_data_is_not_passed(line: Line) -> None:
    with line.admin.db.read() as session:
        none = training_data_facts(session, [])
        unknown = training_data_facts(session, ["dv_never_checked"])
    assert not none.passed and not none.red
    assert not unknown.passed and not unknown.red and unknown.versions[0].check_run_id is None
