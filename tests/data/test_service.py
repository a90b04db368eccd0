"""The data services on SQLite and PostgreSQL: apply, run, history, snapshot, diff, board."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import func, select

from andon.auth import service as auth
from andon.board import service as board
from andon.core.context import Context
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound
from andon.data import service as data
from andon.data.sample import SampleSet
from andon.store import outbox
from andon.store.tables import audit as t
from andon.store.tables import data as d
from tests.conftest import as_principal


def _count(ctx: Context, table: Any) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _events(ctx: Context, type_: str) -> list[outbox.Event]:
    with ctx.db.read() as session:
        return outbox.list_events(session, type_=type_)


@pytest.fixture
def team(admin: Context) -> str:
    auth.create_team(admin, "fraud-ml")
    return "fraud-ml"


@pytest.fixture
def copy(sample_set: SampleSet, tmp_path: Path) -> Path:
    """A private copy of the sample (tests may change its files)."""
    target = tmp_path / "sample"
    shutil.copytree(sample_set.folder, target)
    return target


def test_apply_is_versioned_owned_audited_and_idempotent(
    admin: Context, team: str, copy: Path
) -> None:
    audit_before = _count(admin, t.AuditEntry)
    record = data.apply_contract(admin, copy / "orders.odcs.yaml", team, reason="first")
    assert record.created and record.team == team
    assert record.datasets == ["customers", "orders", "invoices"]
    # Applied in process from its own folder: the folder is granted first, audited apart.
    assert record.granted_root == str(copy.resolve())
    assert _count(admin, t.AuditEntry) == audit_before + 2
    [event] = _events(admin, "contract.applied")
    assert event.payload["contract"] == "sample-orders" and event.payload["version"] == "1.0.0"
    assets = {a.name for a in auth.list_assets(admin, team) if a.kind == "dataset"}
    assert assets == {"customers", "orders", "invoices"}
    # Same id, version and content: nothing changes.
    again = data.apply_contract(admin, copy / "orders.odcs.yaml", team)
    assert not again.created and again.id == record.id
    assert _count(admin, t.AuditEntry) == audit_before + 2
    # Same id and version, different content: a conflict.
    path = copy / "orders.odcs.yaml"
    path.write_text(path.read_text().replace("Orders for the fraud model", "Orders!"))
    with pytest.raises(Conflict, match=r"version 1\.0\.0 was applied with different content"):
        data.apply_contract(admin, path, team)
    # A new version is fine.
    path.write_text(path.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    newer = data.apply_contract(admin, path, team)
    assert newer.created and newer.version == "1.1.0"
    assert [c.version for c in data.list_contracts(admin)] == ["1.1.0"]
    # Another team cannot take the contract over.
    auth.create_team(admin, "other")
    with pytest.raises(Conflict, match="owned by team 'fraud-ml'"):
        data.apply_contract(admin, path, "other")


def test_apply_refuses_invalid_contracts_and_unknown_teams(
    admin: Context, team: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v3.0.2\nkind: Contract\n")
    with pytest.raises(Invalid) as info:
        data.apply_contract(admin, bad, team)
    assert "kind: 'Contract' is not one of 'DataContract'" in str(info.value)
    assert "(document): id is required (ODCS v3.0.2: required)" in str(info.value)
    with pytest.raises(NotFound, match=r"no contract file at .*missing\.yaml"):
        data.apply_contract(admin, bad.with_name("missing.yaml"), team)


def test_apply_to_an_unknown_team(admin: Context, sample_set: SampleSet) -> None:
    with pytest.raises(NotFound, match="no team named 'nope'"):
        data.apply_contract(admin, sample_set.contract, "nope")
    assert _count(admin, d.DataContract) == 0


def test_run_is_stored_with_results_and_linked_versions(
    admin: Context, team: str, copy: Path, manifest: dict[str, Any]
) -> None:
    data.apply_contract(admin, copy / "orders.odcs.yaml", team)
    audit_before = _count(admin, t.AuditEntry)
    report = data.run_checks(admin, str(copy / "orders.odcs.yaml"))
    assert not report.passed
    assert report.queries == 6
    failing = {r["check"] for r in report.results if r["status"] != "pass"}
    assert failing == set(manifest["defects"])
    assert set(report.dataset_version) == {"customers", "orders", "invoices"}
    doc = report.as_dict()
    assert set(doc) >= {"contract", "dataset_version", "passed", "results"}
    assert set(doc["results"][0]) >= {
        "check", "column", "status", "severity", "observed", "threshold", "failed_rows",
        "samples",
    }  # fmt: skip
    assert _count(admin, t.AuditEntry) == audit_before + 1
    assert _count(admin, d.CheckRun) == 1
    assert _count(admin, d.CheckResult) == len(report.results)
    assert _count(admin, d.DatasetVersion) == 3
    [event] = _events(admin, "check.failed")
    assert event.payload["passed"] is False
    with admin.db.read() as session:
        stored = session.scalar(
            select(d.CheckResult).where(d.CheckResult.check == "orders.status.valid")
        )
        assert stored is not None
        assert stored.failed_rows == manifest["defects"]["orders.status.valid"]
        assert stored.samples[0]["customer_email"] == "***"
    # By contract id as well as by file; a second run reuses the dataset versions.
    second = data.run_checks(admin, "sample-orders")
    assert second.dataset_version == report.dataset_version
    assert _count(admin, d.DatasetVersion) == 3
    history = data.check_history(admin, "fraud-ml/orders")
    assert [h.run_id for h in history] == [second.run_id, report.run_id]
    assert history[0].failed_errors == 7 and history[0].failed_warnings == 2
    assert history[0].dataset_version == report.dataset_version["orders"]
    assert data.check_history(admin, "customers")[0].failing == ["customers.schema.column_types"]


def test_a_broken_run_stores_nothing(admin: Context, team: str, copy: Path) -> None:
    data.apply_contract(admin, copy / "orders.odcs.yaml", team)
    before = (_count(admin, t.AuditEntry), _count(admin, d.DatasetVersion))
    duckdb.connect().execute(
        f"COPY (SELECT 1 AS customer_id) TO '{copy / 'customers.parquet'}' (FORMAT parquet)"
    )
    with pytest.raises(Invalid, match="references column 'country', which customers"):
        data.run_checks(admin, "sample-orders")
    (copy / "invoices.parquet").unlink()
    with pytest.raises(NotFound, match="invoices: no parquet file"):
        data.run_checks(admin, "sample-orders")
    with pytest.raises(Invalid, match="no server 'prod'"):
        data.run_checks(admin, "sample-orders", server="prod")
    assert (_count(admin, t.AuditEntry), _count(admin, d.DatasetVersion)) == before
    assert _count(admin, d.CheckRun) == 0


def test_unapplied_or_edited_contract_files_are_refused(
    admin: Context, team: str, copy: Path
) -> None:
    path = copy / "orders.odcs.yaml"
    # Not applied: the run would apply it, but the admin belongs to no team (teams exist).
    with pytest.raises(Invalid, match="belongs to no team") as refused:
        data.run_checks(admin, str(path))
    assert refused.value.field == "team"
    data.apply_contract(admin, path, team)
    path.write_text(path.read_text().replace("mustBeGreaterThan: 0", "mustBeGreaterThan: 1"))
    with pytest.raises(Conflict, match="differs from the applied contract"):
        data.run_checks(admin, str(path))
    with pytest.raises(NotFound, match="no contract file or applied contract named 'nope'"):
        data.run_checks(admin, "nope")


def test_snapshot_versions_and_diff(admin: Context, team: str, copy: Path) -> None:
    data.apply_contract(admin, copy / "orders.odcs.yaml", team)
    first = data.snapshot_dataset(admin, "orders", materialize=True)
    assert first.created and first.row_count == 2000 and first.artifact_digest
    stored = admin.settings.artifact_dir / "sha256" / first.artifact_digest[:2]
    assert (stored / first.artifact_digest[2:]).is_file()
    # The same rows in another order: the same version.
    target = str(copy / "orders.parquet")
    duckdb.execute(
        f"COPY (SELECT * FROM read_parquet('{target}') ORDER BY random()) "
        f"TO '{copy / 'shuffled.parquet'}' (FORMAT parquet)"
    )
    shutil.move(copy / "shuffled.parquet", target)
    same = data.snapshot_dataset(admin, "fraud-ml/orders")
    assert same.id == first.id and not same.created
    # Changed values in one column, a dropped row: a new version, and the diff says so.
    duckdb.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN order_id = 5 THEN 'cancelled' ELSE status END "
        f"AS status) FROM read_parquet('{target}') WHERE order_id <> 7) "
        f"TO '{copy / 'changed.parquet'}' (FORMAT parquet)"
    )
    shutil.move(copy / "changed.parquet", target)
    changed = data.snapshot_dataset(admin, "orders")
    assert changed.created and changed.id != first.id and changed.row_count == 1999
    diff = data.diff_versions(admin, first.id, changed.id)
    assert diff.row_count == (2000, 1999)
    assert diff.added_columns == diff.removed_columns == diff.retyped_columns == []
    assert "status" in diff.changed_columns and "order_id" in diff.changed_columns
    assert "legacy_channel" in diff.changed_columns  # the dropped row's value went with it
    assert data.diff_versions(admin, first.id, first.id).identical
    with pytest.raises(NotFound, match="no dataset version 'dv_nope'"):
        data.diff_versions(admin, first.id, "dv_nope")


def test_scoped_roles(admin: Context, team: str, copy: Path) -> None:
    data.apply_contract(admin, copy / "orders.odcs.yaml", team)
    auth.create_principal(admin, "vera")
    auth.bind_role(admin, "vera", "viewer", scope="team", target=team)
    vera = as_principal(admin, "vera")
    with pytest.raises(Forbidden, match=r"lacks permission 'check\.run'"):
        data.run_checks(vera, "sample-orders")
    assert data.check_history(vera, "orders") == []
    auth.create_principal(admin, "cole")
    auth.bind_role(admin, "cole", "contributor", scope="team", target=team)
    assert not data.run_checks(as_principal(admin, "cole"), "sample-orders").passed


def test_board_light(admin: Context, team: str, copy: Path) -> None:
    def light() -> board.Light:
        return next(x for x in board.board(admin) if x.area == "data quality")

    assert (light().color, light().detail) == ("amber", "no contracts yet: `andon contract apply`")
    data.apply_contract(admin, copy / "orders.odcs.yaml", team)
    assert light().color == "amber" and "1 never checked" in light().detail
    data.run_checks(admin, "sample-orders")
    assert light().color == "red" and "1 failing" in light().detail


def _tiny(folder: Path, contract_id: str, rule: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    duckdb.execute(
        f"COPY (SELECT range AS id, CASE WHEN range = 0 THEN NULL ELSE 'x' END AS s "
        f"FROM range(10)) TO '{folder / 'items.parquet'}' (FORMAT parquet)"
    )
    path = folder / "c.odcs.yaml"
    path.write_text(
        f"apiVersion: v3.0.2\nkind: DataContract\nid: {contract_id}\nversion: '1'\n"
        "status: active\nservers: [{server: local, type: parquet, path: .}]\n"
        "schema: [{name: items, properties: [{name: id, logicalType: integer}, "
        f"{{name: s, logicalType: string, quality: [{rule}]}}]}}]\n"
    )
    return path


def test_warnings_only_is_amber_and_sql_that_returns_no_number_is_an_error(
    admin: Context, team: str, tmp_path: Path
) -> None:
    warn = _tiny(tmp_path / "w", "warn", "{metric: nullValues, severity: warning}")
    data.apply_contract(admin, warn, team)
    report = data.run_checks(admin, "warn")
    assert report.passed and report.warnings_failed == 1
    light = next(x for x in board.board(admin) if x.area == "data quality")
    assert light.color == "amber" and "1 with warnings" in light.detail
    odd = _tiny(tmp_path / "e", "odd", "{type: sql, query: \"SELECT 'many'\", mustBe: 0}")
    auth.create_team(admin, "other")
    data.apply_contract(admin, odd, "other")
    bad = data.run_checks(admin, "odd")
    [sql] = [r for r in bad.results if r["kind"] == "sql"]
    # The value itself is never echoed: only the type that came back.
    assert (sql["status"], sql["observed"]) == ("error", None)
    assert sql["message"] == "the query must return one number; it returned a text value"
    assert not bad.passed  # an error-severity check that cannot run fails the gate


def test_a_dataset_name_in_two_teams_must_be_qualified(
    admin: Context, team: str, tmp_path: Path
) -> None:
    data.apply_contract(admin, _tiny(tmp_path / "a", "a", "{metric: nullValues}"), team)
    auth.create_team(admin, "other")
    data.apply_contract(admin, _tiny(tmp_path / "b", "b", "{metric: nullValues}"), "other")
    with pytest.raises(Invalid, match=r"names datasets in several teams; say which: "):
        data.check_history(admin, "items")
    assert data.check_history(admin, "other/items") == []
    with pytest.raises(NotFound, match="no dataset 'nope/items'"):
        data.snapshot_dataset(admin, "nope/items")
