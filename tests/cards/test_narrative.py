"""Card narrative: sections per version, carried forward, completeness, audit, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.audit import service as audit
from andon.auth import service as auth
from andon.cards import narrative as cards
from andon.core.context import Context
from andon.core.errors import Forbidden, Invalid, NotFound
from andon.registry import service as registry
from tests.conftest import as_principal


@pytest.fixture
def model(admin: Context, team: str, model_files: dict[str, Path]) -> str:
    """``fraud-detector`` with two versions."""
    registry.register_model(admin, "fraud-detector", team=team, artifact=model_files["onnx"])
    registry.register_model(admin, "fraud-detector", team=team, artifact=model_files["skops"])
    return "fraud-detector"


def test_a_new_card_is_incomplete_and_names_what_is_missing(admin: Context, model: str) -> None:
    version = registry.get_version(admin, f"{model}@1")
    with admin.db.read() as session:
        state = cards.completeness_of(session, version.id)
    assert not state.complete
    assert state.missing == cards.REQUIRED
    assert state.as_facts() == {"complete": False, "missing": list(cards.REQUIRED)}


def test_filling_every_required_section_completes_the_card(admin: Context, model: str) -> None:
    for i, section in enumerate(cards.REQUIRED):
        state = cards.edit_section(admin, f"{model}@1", section, f"text {section}")
        assert state.missing == cards.REQUIRED[i + 1 :]
    assert state.complete
    read = cards.read_sections(admin, f"{model}@1")
    assert read["risks"].text == "text risks"
    assert read["risks"].from_version == 1
    assert read["risks"].updated_by == "admin"


def test_narrative_carries_forward_and_a_later_version_overrides(
    admin: Context, model: str
) -> None:
    cards.edit_section(admin, f"{model}@1", "purpose", "v1 purpose")
    assert cards.read_sections(admin, f"{model}@2")["purpose"].text == "v1 purpose"
    cards.edit_section(admin, f"{model}@2", "purpose", "v2 purpose")
    assert cards.read_sections(admin, f"{model}@2")["purpose"].from_version == 2
    assert cards.read_sections(admin, f"{model}@1")["purpose"].text == "v1 purpose"
    # An explicit empty text clears the section for this version: the card is missing it.
    state = cards.edit_section(admin, f"{model}@2", "purpose", "   ")
    assert "purpose" in state.missing


def test_every_edit_is_audited_with_before_and_after(admin: Context, model: str) -> None:
    cards.edit_section(admin, f"{model}@1", "purpose", "first")
    cards.edit_section(admin, f"{model}@1", "purpose", "second")
    version = registry.get_version(admin, f"{model}@1")
    entries = audit.list_entries(admin, object_id=version.id, newest_first=False)
    edits = [e for e in entries if e.action == "model.card"]
    assert [(e.actor, e.change["before"], e.change["after"]) for e in edits] == [
        ("admin", None, "first"),
        ("admin", "first", "second"),
    ]


def test_bad_input_changes_nothing(admin: Context, model: str) -> None:
    with pytest.raises(Invalid, match="not one of purpose"):
        cards.edit_section(admin, f"{model}@1", "porpose", "x")
    with pytest.raises(Invalid) as too_long:
        cards.edit_section(admin, f"{model}@1", "purpose", "x" * (cards.MAX_TEXT + 1))
    assert too_long.value.field == "text"
    with pytest.raises(NotFound):
        cards.edit_section(admin, f"{model}@9", "purpose", "x")
    with pytest.raises(NotFound):
        cards.read_sections(admin, "no-such-model@1")
    assert cards.read_sections(admin, f"{model}@1") == {}


def test_a_viewer_reads_but_cannot_write_the_narrative(admin: Context, model: str) -> None:
    auth.create_principal(admin, "vera")
    auth.bind_role(admin, "vera", "viewer", scope="global")
    vera = as_principal(admin, "vera")
    cards.edit_section(admin, f"{model}@1", "purpose", "flags fraud")
    assert cards.read_sections(vera, f"{model}@1")["purpose"].text == "flags fraud"
    with pytest.raises(Forbidden):
        cards.edit_section(vera, f"{model}@1", "purpose", "mine now")
    assert cards.read_sections(admin, f"{model}@1")["purpose"].text == "flags fraud"
