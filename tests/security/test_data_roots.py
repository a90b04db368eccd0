"""Data paths are confined: a contract names files only inside its team's data roots.

The probe applied a contract with ``path: /etc/passwd`` (or ``../../../../etc/passwd`` under
any ``base_dir``) and read the file's lines back through ``/profile``. Here each such path is
refused at apply, and a file swapped for a symlink after the apply is refused at check run,
snapshot and profile; through the service, over REST as a contributor, and through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import func, select

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Forbidden, Invalid, NotFound
from andon.data import profile, roots
from andon.data import service as data
from andon.store.tables import audit as t
from andon.store.tables import data as d
from tests.api.conftest import api  # noqa: F401 - the live server fixture
from tests.api.live import Api, assert_problem
from tests.cli.conftest import Run
from tests.conftest import as_principal

FIELD = "servers[0].path"


def _contract(folder: Path, path: str, cid: str = "reach", table: str = "t") -> Path:
    """A one-table contract in ``folder`` whose parquet server's path is ``path``."""
    file = folder / f"{cid}.odcs.yaml"
    file.write_text(
        f"apiVersion: v3.0.2\nkind: DataContract\nid: {cid}\nversion: 1.0.0\nstatus: active\n"
        f"servers: [{{server: local, type: local, path: '{path}', format: parquet}}]\n"
        f"schema: [{{name: {table}, physicalName: {table}, properties: "
        "[{name: id, logicalType: integer}]}]\n"
    )
    return file


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """A folder with ``t.parquet`` (three ids) and, beside it, ``outside/`` with a secret."""
    folder = tmp_path / "lake"
    folder.mkdir()
    duckdb.connect().execute(f"COPY (SELECT range AS id FROM range(3)) TO '{folder / 't.parquet'}'")
    outside = tmp_path / "outside"
    outside.mkdir()
    duckdb.connect().execute(f"COPY (SELECT 42 AS id) TO '{outside / 't.parquet'}'")
    return folder


@pytest.fixture
def contributor(admin: Context) -> Context:
    """Carol, a contributor of team ``reach-team``."""
    auth.create_team(admin, "reach-team")
    auth.create_principal(admin, "carol")
    auth.bind_role(admin, "carol", "contributor", scope="team", target="reach-team")
    return as_principal(admin, "carol")


def _count(ctx: Context, table: type) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _granted(ctx: Context, team: str = "reach-team") -> list[str]:
    return [r.path for r in roots.list_roots(ctx, team) if r.origin != "built-in"]


@pytest.mark.parametrize(
    "path", ["/etc", "/etc/passwd", "../outside", "../../../../../../../etc", "~"]
)
def test_a_path_outside_every_root_is_refused_at_apply_and_nothing_is_stored(
    contributor: Context, admin: Context, lake: Path, path: str
) -> None:
    text = _contract(lake, path).read_text()
    roots.add_root(admin, "reach-team", lake)
    with pytest.raises(Invalid, match="outside the data roots of team 'reach-team'") as caught:
        data.apply_contract_text(contributor, text, "reach-team", base_dir=lake)
    assert caught.value.field == FIELD
    assert "andon data root" in caught.value.details["hint"]
    assert _count(admin, d.DataContract) == 0


def test_a_symlink_inside_a_root_that_points_out_is_refused(
    contributor: Context, admin: Context, lake: Path
) -> None:
    roots.add_root(admin, "reach-team", lake)
    (lake / "escape").symlink_to(lake.parent / "outside")
    text = _contract(lake, "escape").read_text()
    with pytest.raises(Invalid, match=r"resolves to .*outside") as caught:
        data.apply_contract_text(contributor, text, "reach-team", base_dir=lake)
    assert caught.value.field == FIELD


def test_a_text_applied_as_over_rest_grants_no_folder(
    contributor: Context, admin: Context, lake: Path
) -> None:
    text = _contract(lake, ".").read_text()
    with pytest.raises(Invalid, match="outside the data roots"):
        data.apply_contract_text(contributor, text, "reach-team", base_dir=lake)
    assert _granted(admin) == []
    roots.add_root(admin, "reach-team", lake)
    applied = data.apply_contract_text(contributor, text, "reach-team", base_dir=lake)
    assert applied.granted_root is None
    assert data.run_checks(contributor, "reach").passed


def test_a_file_swapped_for_a_symlink_after_apply_is_refused_at_every_read(
    contributor: Context, admin: Context, lake: Path
) -> None:
    roots.add_root(admin, "reach-team", lake)
    data.apply_contract_text(
        contributor, _contract(lake, ".").read_text(), "reach-team", base_dir=lake
    )
    assert data.run_checks(contributor, "reach").passed
    runs = _count(admin, d.CheckRun)
    (lake / "t.parquet").unlink()
    (lake / "t.parquet").symlink_to(lake.parent / "outside" / "t.parquet")
    for read in (
        lambda: data.run_checks(contributor, "reach"),
        lambda: data.snapshot_dataset(contributor, "reach-team/t"),
        lambda: profile.profile_dataset(admin, "reach-team/t"),
    ):
        with pytest.raises(Invalid, match=r"resolves to .*outside.*t\.parquet") as caught:
            read()
        assert caught.value.field == FIELD
    assert _count(admin, d.CheckRun) == runs


def test_a_withdrawn_root_refuses_the_next_run(
    contributor: Context, admin: Context, lake: Path
) -> None:
    roots.add_root(admin, "reach-team", lake, reason="the lake")
    data.apply_contract_text(
        contributor, _contract(lake, ".").read_text(), "reach-team", base_dir=lake
    )
    roots.remove_root(admin, "reach-team", lake, reason="lake retired")
    with pytest.raises(Invalid, match="outside the data roots"):
        data.run_checks(contributor, "reach")
    with pytest.raises(NotFound):
        roots.remove_root(admin, "reach-team", lake)


def test_only_a_platform_admin_grants_and_withdraws_and_each_is_audited(
    contributor: Context, admin: Context, lake: Path
) -> None:
    with pytest.raises(Forbidden):
        roots.add_root(contributor, "reach-team", lake)
    audit = _count(admin, t.AuditEntry)
    roots.add_root(admin, "reach-team", lake, reason="the lake")
    with pytest.raises(Forbidden):
        roots.remove_root(contributor, "reach-team", lake)
    roots.remove_root(admin, "reach-team", lake, reason="retired")
    with admin.db.read() as session:
        actions = list(
            session.scalars(
                select(t.AuditEntry.action)
                .where(t.AuditEntry.seq > audit)
                .order_by(t.AuditEntry.seq)
            )
        )
    assert actions == ["data_root.manage", "data_root.manage"]
    assert [r.origin for r in roots.list_roots(contributor, "reach-team")] == ["built-in"]
    for bad, message in (("relative/x", "absolute"), (str(lake / "nope"), "no folder")):
        with pytest.raises(Invalid, match=message):
            roots.add_root(admin, "reach-team", bad)


def test_the_home_sample_folder_is_every_team_s_root(contributor: Context, admin: Context) -> None:
    sample = admin.settings.home / "sample"
    sample.mkdir(parents=True)
    duckdb.connect().execute(f"COPY (SELECT range AS id FROM range(3)) TO '{sample / 't.parquet'}'")
    text = _contract(sample, ".").read_text()
    applied = data.apply_contract_text(contributor, text, "reach-team", base_dir=sample)
    assert applied.granted_root is None and data.run_checks(contributor, "reach").passed


def test_over_rest_a_contributor_is_refused_with_a_problem(
    api: Api,  # noqa: F811 - the fixture imported above
    lake: Path,
) -> None:
    auth.create_team(api.admin, "reach-team")
    auth.create_principal(api.admin, "carol")
    auth.bind_role(api.admin, "carol", "contributor", scope="team", target="reach-team")
    carol = api.as_(api.token_for("carol"))
    for path in ("/etc/passwd", "../../../../etc/passwd", "."):
        body = {
            "team": "reach-team",
            "content": _contract(lake, path).read_text(),
            "base_dir": str(lake),
        }
        doc = assert_problem(carol.post("/api/v1/contracts", json=body), 422)
        assert doc["field"] == FIELD and "outside the data roots" in doc["detail"]
        assert "andon data root" in doc["hint"]
    assert _granted(api.admin) == []
    assert carol.get("/api/v1/contracts").json()["items"] == []


def test_the_local_cli_grants_the_contract_s_folder_and_says_so(
    run: Run, lake: Path, andon_env: dict[str, str]
) -> None:
    assert run("init").returncode == 0
    assert run("team", "create", "reach-team").returncode == 0
    proc = run("contract", "apply", str(_contract(lake, ".")), "--team", "reach-team")
    assert proc.returncode == 0, proc.stderr
    assert f"granted data root {lake.resolve()} to team reach-team" in " ".join(proc.stdout.split())
    listed = json.loads(run("data", "root", "list", "reach-team", "-f", "json").stdout)
    assert [(r["path"], r["origin"]) for r in listed][1:] == [(str(lake.resolve()), "cli-apply")]
    audit = run("audit", "log", "-f", "json")
    assert "data_root.grant" in audit.stdout
    again = run("contract", "apply", str(_contract(lake, ".", cid="again")), "--team", "reach-team")
    assert "granted data root" not in again.stdout  # already inside: nothing more granted
    bad = run("contract", "apply", str(_contract(lake, "/etc", cid="etc")), "--team", "reach-team")
    lines = [ln for ln in bad.stderr.splitlines() if ln.strip()]
    assert bad.returncode == 2 and len(lines) == 1, bad.stderr
    assert FIELD in lines[0] and "outside the data roots" in lines[0]
    assert "root:" not in bad.stdout + bad.stderr
