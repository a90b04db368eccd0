"""Check runs open and resolve schema incidents as snapshots do, in their own transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.audit import service as audit
from andon.auth import service as auth
from andon.core.context import Context
from andon.data import approvals
from andon.data import service as data
from andon.store import outbox
from tests.data.test_first_run import PROPS, write_contract, write_items

DROPPED = "SELECT range AS id, range * 1.5 AS amount FROM range(5)"  # no `note`


@pytest.fixture
def shop(admin: Context, tmp_path: Path) -> Path:
    """Contract shop 1.0.0 applied to fraud-ml over items.parquet."""
    auth.create_team(admin, "fraud-ml")
    write_items(tmp_path)
    path = write_contract(tmp_path)
    data.apply_contract(admin, path, "fraud-ml")
    return path


def _breaking(ctx: Context) -> list[outbox.Event]:
    with ctx.db.read() as session:
        return outbox.list_events(session, type_="schema.breaking")


def _run_entry(ctx: Context, run_id: str) -> dict[str, object]:
    [entry] = audit.list_entries(ctx, object_id=run_id)
    assert entry.action == "check.run"
    return entry.change


def test_a_breaking_run_opens_one_incident_and_a_conforming_one_resolves_it(
    admin: Context, shop: Path
) -> None:
    clean = data.run_checks(admin, "shop")
    assert clean.schema_incidents == {} and _breaking(admin) == []
    assert _run_entry(admin, clean.run_id)["schema_incident"] == {"items": None}

    write_items(shop.parent, DROPPED)
    broken = data.run_checks(admin, "shop")
    assert not broken.passed
    [incident_id] = broken.schema_incidents.values()
    assert broken.as_dict()["schema_incidents"] == {"items": incident_id}
    [event] = _breaking(admin)
    assert event.object_id == incident_id
    assert event.payload["dataset_version"] == broken.dataset_version["items"]
    assert event.payload["audit_id"] == audit.list_entries(admin, object_id=broken.run_id)[0].id
    assert [c["kind"] for c in event.payload["breaking"]] == ["column_removed"]
    change = _run_entry(admin, broken.run_id)
    assert change["schema_incident"] == {"items": incident_id}
    assert change["schema_resolved"] == {"items": []}
    [open_] = approvals.list_schema_changes(admin, "shop", status="open")
    assert open_.id == incident_id and open_.dataset == "items" and open_.source == "snapshot"

    # The same departure again, by a run or a snapshot: no second incident, no second event.
    again = data.run_checks(admin, "shop")
    assert again.schema_incidents == {}
    assert _run_entry(admin, again.run_id)["schema_incident"] == {"items": None}
    assert data.snapshot_dataset(admin, "fraud-ml/items").schema_incident is None
    assert len(_breaking(admin)) == 1

    write_items(shop.parent)
    fixed = data.run_checks(admin, "shop")
    assert fixed.passed and fixed.schema_incidents == {}
    assert _run_entry(admin, fixed.run_id)["schema_resolved"] == {"items": [incident_id]}
    [resolved] = approvals.list_schema_changes(admin, "shop")
    assert resolved.status == "resolved" and resolved.decided_by == "admin"
    assert resolved.reason == (
        f"check run {fixed.run_id} of {fixed.dataset_version['items']} conforms to the "
        "contract again"
    )


def test_a_snapshots_incident_is_resolved_by_a_run_and_a_runs_by_a_snapshot(
    admin: Context, shop: Path
) -> None:
    write_items(shop.parent, DROPPED)
    opened = data.snapshot_dataset(admin, "fraud-ml/items").schema_incident
    assert opened is not None
    assert data.run_checks(admin, "shop").schema_incidents == {}  # the snapshot's, still open
    write_items(shop.parent)
    run = data.run_checks(admin, "shop")
    assert _run_entry(admin, run.run_id)["schema_resolved"] == {"items": [opened]}

    write_items(shop.parent, DROPPED)
    [by_run] = data.run_checks(admin, "shop").schema_incidents.values()
    write_items(shop.parent)
    data.snapshot_dataset(admin, "fraud-ml/items")
    statuses = {c.id: c.status for c in approvals.list_schema_changes(admin, "shop")}
    assert statuses == {opened: "resolved", by_run: "resolved"}


def test_a_run_of_an_older_version_leaves_incidents_alone(admin: Context, shop: Path) -> None:
    v1 = shop.read_text()
    write_contract(shop.parent, "1.1.0", PROPS)
    data.apply_contract(admin, shop, "fraud-ml")
    older = shop.parent / "v1.odcs.yaml"
    older.write_text(v1)
    write_items(shop.parent, DROPPED)
    report = data.run_checks(admin, str(older))
    assert report.contract_version == "1.0.0" and report.schema_incidents == {}
    assert _run_entry(admin, report.run_id)["schema_incident"] == {}
    assert _breaking(admin) == []
