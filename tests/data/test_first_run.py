"""`andon check run FILE` on a file not applied yet: it applies it first, then runs.

Services on SQLite and PostgreSQL over a small Parquet table; the CLI as a real process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml  # type: ignore[import-untyped]
from sqlalchemy import func, select

from andon.audit import service as audit
from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound
from andon.data import approvals
from andon.data import service as data
from andon.data.records import FirstApply
from andon.store.tables import audit as a
from andon.store.tables import data as d
from tests.cli.conftest import Run
from tests.conftest import as_principal

PROPS = [
    {"name": "id", "logicalType": "integer", "required": True, "unique": True},
    {"name": "amount", "logicalType": "number"},
    {"name": "note", "logicalType": "string"},
]
ITEMS = "SELECT range AS id, range * 1.5 AS amount, 'n' AS note FROM range(5)"


def write_items(folder: Path, select_sql: str = ITEMS) -> None:
    """``items.parquet`` in ``folder`` from a DuckDB SELECT."""
    target = str(folder / "items.parquet").replace("'", "''")
    duckdb.connect().execute(f"COPY ({select_sql}) TO '{target}' (FORMAT parquet)")


def write_contract(folder: Path, version: str = "1.0.0", props: Any = None) -> Path:
    """Contract ``shop`` over ``items.parquet`` next to it."""
    path = folder / "shop.odcs.yaml"
    doc = {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "shop",
        "version": version,
        "status": "active",
        "servers": [{"server": "local", "type": "local", "path": ".", "format": "parquet"}],
        "schema": [{"name": "items", "properties": props or PROPS}],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The contract file, not applied, and its data."""
    write_items(tmp_path)
    return write_contract(tmp_path)


def _actions(ctx: Context, actor: str) -> list[str]:
    return [e.action for e in audit.list_entries(ctx, actor=actor, newest_first=False)]


def _count(ctx: Context, table: Any) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


# --------------------------------------------------------------------------- the default team


def test_first_run_applies_to_the_one_team_the_principal_belongs_to(
    admin: Context, shop: Path
) -> None:
    auth.create_team(admin, "fraud-ml")
    auth.create_team(admin, "risk")  # another team: not vic's
    auth.create_principal(admin, "vic")
    auth.bind_role(admin, "vic", "contributor", scope="team", target="fraud-ml")
    vic = as_principal(admin, "vic")
    heard: list[FirstApply] = []
    report = data.run_checks(vic, str(shop), on_apply=heard.append)
    assert report.passed and report.contract == "shop"
    assert report.applied is not None and heard == [report.applied]
    assert report.applied.version.team == "fraud-ml" and not report.applied.team_created
    assert report.as_dict()["applied"]["team"] == "fraud-ml"
    # The apply is the one `andon contract apply` makes: its audit entry, event, datasets.
    assert _actions(admin, "vic") == ["data_root.grant", "contract.apply", "check.run"]
    [entry] = [e for e in audit.list_entries(admin, actor="vic") if e.action == "contract.apply"]
    assert entry.change["team"] == "fraud-ml" and entry.reason == f"first check run of {shop}"
    assert [(c.contract, c.team) for c in data.list_contracts(admin)] == [("shop", "fraud-ml")]
    # The next run finds it applied: nothing applied again.
    again = data.run_checks(vic, str(shop), on_apply=heard.append)
    assert again.applied is None and len(heard) == 1
    assert again.dataset_version == report.dataset_version
    # A member without a role there has the same default team, and may not apply to it.
    auth.create_principal(admin, "mo")
    auth.add_member(admin, "fraud-ml", "mo")
    other = shop.parent / "other.odcs.yaml"
    other.write_text(shop.read_text().replace("id: shop", "id: other"))
    with pytest.raises(Forbidden, match=r"mo lacks permission 'contract\.apply' in team"):
        data.run_checks(as_principal(admin, "mo"), str(other))


def test_team_names_the_owner_and_must_match_an_applied_contract(
    admin: Context, shop: Path
) -> None:
    for team in ("fraud-ml", "risk"):
        auth.create_team(admin, team)
    # The admin belongs to no team while teams exist: it must name one.
    with pytest.raises(Invalid, match="admin belongs to no team") as refused:
        data.run_checks(admin, str(shop))
    assert refused.value.field == "team" and "andon team create" in refused.value.details["hint"]
    with pytest.raises(NotFound, match="no team named 'nope'"):
        data.run_checks(admin, str(shop), team="nope")
    assert _count(admin, d.DataContract) == 0
    report = data.run_checks(admin, str(shop), team="risk")
    assert report.applied is not None and report.applied.version.team == "risk"
    assert data.run_checks(admin, str(shop), team="risk").applied is None
    for ref in (str(shop), "shop"):
        with pytest.raises(Conflict, match="owned by team 'risk', not 'fraud-ml'") as other:
            data.run_checks(admin, ref, team="fraud-ml")
        assert other.value.field == "team"
    # A new version of an applied contract goes to its owner, whatever the default.
    newer = write_contract(shop.parent, "1.1.0", [*PROPS, {"name": "sku", "logicalType": "string"}])
    assert data.run_checks(admin, str(newer)).applied.version.team == "risk"  # type: ignore[union-attr]
    # Several teams: which one is the principal's to say.
    auth.create_principal(admin, "pat")
    for team in ("fraud-ml", "risk"):
        auth.bind_role(admin, "pat", "contributor", scope="team", target=team)
    write_contract(shop.parent)  # shop 1.0.0 is applied; a contract of another id is not
    other_file = shop.parent / "other.odcs.yaml"
    other_file.write_text(shop.read_text().replace("id: shop", "id: other"))
    with pytest.raises(Invalid, match=r"pat belongs to 2 teams \(fraud-ml, risk\)"):
        data.run_checks(as_principal(admin, "pat"), str(other_file))


def test_fresh_install_creates_the_principals_own_team(admin: Context, shop: Path) -> None:
    report = data.run_checks(admin, str(shop))
    assert report.applied is not None and report.applied.team_created
    assert report.applied.version.team == "admin"
    team = auth.get_team(admin, "admin")
    assert [(m.name, m.owner) for m in team.members] == [("admin", True)]
    assert _actions(admin, "admin")[-4:] == [
        "team.create",
        "data_root.grant",
        "contract.apply",
        "check.run",
    ]


def test_fresh_install_team_names_and_who_may_not_create_one(admin: Context, shop: Path) -> None:
    auth.create_principal(admin, "vee")
    auth.bind_role(admin, "vee", "viewer", scope="global")
    before = _count(admin, a.AuditEntry)
    with pytest.raises(Invalid, match="vee may not create one") as refused:
        data.run_checks(as_principal(admin, "vee"), str(shop))
    assert refused.value.field == "team"
    assert _count(admin, a.AuditEntry) == before and _count(admin, d.DataContract) == 0
    auth.create_principal(admin, "jane.doe@corp")
    auth.bind_role(admin, "jane.doe@corp", "platform-admin", scope="global")
    report = data.run_checks(as_principal(admin, "jane.doe@corp"), str(shop))
    assert report.applied is not None and report.applied.version.team == "jane-doe-corp"


def test_a_viewer_cannot_apply_by_running(admin: Context, shop: Path) -> None:
    auth.create_team(admin, "fraud-ml")
    auth.create_principal(admin, "val")
    auth.bind_role(admin, "val", "viewer", scope="team", target="fraud-ml")
    before = _count(admin, a.AuditEntry)
    with pytest.raises(Forbidden, match=r"val lacks permission 'contract\.apply' in team"):
        data.run_checks(as_principal(admin, "val"), str(shop))
    assert _count(admin, a.AuditEntry) == before
    assert _count(admin, d.DataContract) == 0 and _count(admin, d.CheckRun) == 0


def test_a_breaking_new_version_is_applied_pending_and_not_run(admin: Context, shop: Path) -> None:
    auth.create_team(admin, "fraud-ml")
    data.apply_contract(admin, shop, "fraud-ml")
    dropped = write_contract(shop.parent, "2.0.0", PROPS[:2])
    heard: list[FirstApply] = []
    with pytest.raises(Conflict, match=r"version 2\.0\.0 is pending, not active"):
        data.run_checks(admin, str(dropped), on_apply=heard.append)
    assert [h.version.status for h in heard] == ["pending"]
    [change] = approvals.list_schema_changes(admin, status="pending")
    assert change.ref == "shop@2.0.0"
    assert _count(admin, d.CheckRun) == 0


# --------------------------------------------------------------------------- the CLI


def test_cli_first_check_on_a_fresh_install(run: Run, shop: Path) -> None:
    assert run("init").returncode == 0
    first = run("check", "run", str(shop))
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines() == [
        f"applied contract 'shop' 1.0.0 to new team 'admin' (yours) (first run; andon contract "
        f"apply did the same; granted data root {shop.parent.resolve()})"
    ]
    assert "passed" in first.stdout
    again = run("check", "run", str(shop), "--team", "admin", "--format", "json")
    assert again.returncode == 0 and again.stderr == ""
    assert '"applied": null' in again.stdout
    wrong = run("check", "run", str(shop), "--team", "nope")
    assert wrong.returncode == 1 and "no team named 'nope'" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    write_items(shop.parent, "SELECT range AS id, range * 1.5 AS amount FROM range(5)")
    broken = run("check", "run", "shop")
    assert broken.returncode == 4
    [line] = [x for x in broken.stdout.splitlines() if "schema incident" in x]
    assert line.startswith("schema incident sc_") and "opened for items" in line
