"""`andon contract upgrade FILE` as a user runs it: the real process, no login needed."""

from __future__ import annotations

from pathlib import Path

import yaml

from andon.data.dialect import upgrade
from tests.cli.conftest import Run
from tests.data.conftest import legacy_document as contract_document

HEADER = "# The orders contract.\n# Owned by fraud-ml.\n\n"


def _sample(tmp_path: Path) -> Path:
    path = tmp_path / "orders.odcs.yaml"
    body = yaml.safe_dump(contract_document(), sort_keys=False, width=100)
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_upgrade_prints_the_standard_contract_and_one_line_per_change(
    run: Run, tmp_path: Path, andon_env: dict[str, str]
) -> None:
    path = _sample(tmp_path)
    before = path.read_text()
    proc = run("contract", "upgrade", str(path))
    assert proc.returncode == 0, proc.stderr
    expected, changes = upgrade(contract_document())
    assert proc.stdout.startswith(HEADER)
    assert yaml.safe_load(proc.stdout) == expected
    lines = proc.stderr.strip().splitlines()
    assert lines == [*changes, "11 changes; the contract now reads as ODCS v3.1.0"]
    assert path.read_text() == before  # stdout only
    assert not Path(andon_env["ANDON_HOME"]).exists()  # a local transformation: no home made


def test_upgrade_in_place_keeps_the_leading_comments_then_has_nothing_to_do(
    run: Run, tmp_path: Path
) -> None:
    path = _sample(tmp_path)
    proc = run("contract", "upgrade", str(path), "--in-place")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines()[-1] == (
        f"11 changes; the contract now reads as ODCS v3.1.0; written to {path}"
    )
    text = path.read_text()
    assert text.startswith(HEADER)
    assert yaml.safe_load(text) == upgrade(contract_document())[0]
    again = run("contract", "upgrade", str(path), "--in-place")
    assert again.returncode == 0
    assert again.stderr.strip() == f"nothing to upgrade: {path} already reads as the standard"
    assert path.read_text() == text


def test_upgrade_to_another_file(run: Run, tmp_path: Path) -> None:
    path, out = _sample(tmp_path), tmp_path / "new.odcs.yaml"
    path.write_text(path.read_text().replace("\nschema:", "\n# the tables\nschema:"))
    proc = run("contract", "upgrade", str(path), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "note: comments below the leading ones are not kept" in proc.stderr.splitlines()
    assert out.read_text().startswith(HEADER)
    assert yaml.safe_load(out.read_text()) == upgrade(contract_document())[0]
    assert yaml.safe_load(path.read_text()) == contract_document()


def test_bad_input_is_one_line(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v3.0.2\nservers: [1\n")
    proc = run("contract", "upgrade", str(bad))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith(f"error: {bad} is not valid YAML at line 3")
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n")
    proc = run("contract", "upgrade", str(listed))
    assert proc.returncode == 2 and "must be a YAML mapping" in proc.stderr
    both = run("contract", "upgrade", str(listed), "--in-place", "--output", str(bad))
    assert both.returncode == 2 and "not both" in both.stderr
    missing = run("contract", "upgrade", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1 and missing.stderr.startswith("error: no contract file")


def _postgres_contract(tmp_path: Path) -> Path:
    path = tmp_path / "wh.odcs.yaml"
    path.write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: wh\nversion: 1.0.0\nstatus: active\n"
        "servers:\n  - server: warehouse\n    type: postgresql\n    customProperties:\n"
        "      - {property: connection, value: shop-warehouse}\n"
        "schema: [{name: t, properties: [{name: id, logicalType: integer}]}]\n"
    )
    return path


def test_postgres_addresses_come_from_the_homes_connections(run: Run, tmp_path: Path) -> None:
    path = _postgres_contract(tmp_path)
    alone = run("contract", "upgrade", str(path))
    assert alone.returncode == 0, alone.stderr
    assert (
        "servers[0]: fill in host, port, database yourself (the standard requires them; "
        "connection 'shop-warehouse' is not known here)" in alone.stderr.splitlines()
    )
    assert run("init").returncode == 0
    added = run(
        "connection", "add", "shop-warehouse", "--host", "db.internal", "--port", "5433",
        "--database", "shop", "--user", "reader", "--password-env", "SHOP_PG_PASSWORD",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    proc = run("contract", "upgrade", str(path))
    assert proc.returncode == 0, proc.stderr
    server = yaml.safe_load(proc.stdout)["servers"][0]
    assert server == {
        "server": "warehouse",
        "type": "postgresql",
        "host": "db.internal",
        "port": 5433,
        "database": "shop",
        "schema": "public",
        "customProperties": [{"property": "andonConnection", "value": "shop-warehouse"}],
    }
    assert (
        "servers[0]: host, port, database filled from connection 'shop-warehouse' "
        "(db.internal:5433/shop)" in proc.stderr.splitlines()
    )
