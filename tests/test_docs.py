"""Docs are checked against the code, so they cannot drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current(tmp_path: Path) -> None:
    out = tmp_path / "cli.md"
    typer = Path(sys.executable).with_name("typer")
    subprocess.run(
        [str(typer), "andon.cli.main", "utils", "docs", "--name", "andon", "--output", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_text() == (ROOT / "docs" / "cli.md").read_text(), "run `make docs`"


def test_readme_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```")]
    assert [line.split("#")[0].strip() for line in block] == ["make demo", "make test"]


def test_every_setting_is_documented() -> None:
    from andon.core.config import Settings

    text = (ROOT / "docs" / "architecture.md").read_text()
    for name in Settings.model_fields:
        assert f"ANDON_{name.upper()}" in text, name
