"""`andon model card|card-edit` and `andon lineage coverage` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from andon.core.config import Settings
from andon.core.context import Context
from tests.cards.conftest import MODEL, Line
from tests.cli.conftest import Run


@pytest.fixture
def backend() -> str:
    """The commands are thin over the services tested on both backends: SQLite is enough."""
    return "sqlite"


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    """The CLI pointed at the test's database as admin."""
    return {
        "ANDON_DATABASE_URL": settings.resolved_database_url,
        "ANDON_HOME": str(settings.home),
        "ANDON_PRINCIPAL": "admin",
    }


def test_card_edit_then_card_in_every_format(
    admin: Context, line: Line, run: Run, env: dict[str, str], tmp_path: Path
) -> None:
    edited = run(
        "model", "card-edit", f"{MODEL}@1", "purpose", "--text", "Flags <b>fraud</b>.", env=env
    )
    assert edited.returncode == 0, edited.stderr
    assert "card missing intended_users, limitations, risks" in edited.stdout
    risks = tmp_path / "risks.md"
    risks.write_text("False positives block honest customers.\n", encoding="utf-8")
    assert (
        run("model", "card-edit", f"{MODEL}@1", "risks", "--file", str(risks), env=env).returncode
        == 0
    )

    md = run("model", "card", f"{MODEL}@champion", env=env)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith(f"# Model card: {MODEL}@1")
    assert "Flags &lt;b&gt;fraud&lt;/b&gt;." in md.stdout
    assert "False positives block honest customers." in md.stdout

    doc = json.loads(run("model", "card", f"{MODEL}@1", "--format", "json", env=env).stdout)
    assert doc["schema"] == "andon.model-card/1" and doc["training_run"]["id"] == line.run_id
    assert doc["completeness"]["missing"] == ["intended_users", "limitations"]

    out = tmp_path / "card.html"
    written = run("model", "card", f"{MODEL}@1", "--format", "html", "--out", str(out), env=env)
    assert written.returncode == 0, written.stderr
    assert f"wrote the card of {MODEL}@1 to {out}" in written.stdout.replace("\n", "")
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_bad_input_and_lineage_coverage(
    admin: Context, line: Line, run: Run, env: dict[str, str]
) -> None:
    neither = run("model", "card-edit", f"{MODEL}@1", "purpose", env=env)
    assert neither.returncode == 2 and "exactly one of --text or --file" in neither.stderr
    unknown = run("model", "card", "nope@1", env=env)
    assert (
        unknown.returncode == 1 and unknown.stderr.strip() == "error: model: no model named 'nope'"
    )
    assert "Traceback" not in neither.stderr + unknown.stderr

    table = run("lineage", "coverage", env=env)
    assert table.returncode == 0, table.stderr
    assert "0 of 1 production model versions complete (0%)" in table.stdout
    assert "evaluation, gate_decision, approval, promotion" in table.stdout
    doc = json.loads(run("lineage", "coverage", "--format", "json", env=env).stdout)
    assert doc["total"] == 1 and doc["versions"][0]["ref"] == f"{MODEL}@1"
