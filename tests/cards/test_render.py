"""Card renderers: every person-written text is escaped; JSON follows the documented schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from andon.cards import render
from andon.cards.narrative import REQUIRED, SECTIONS
from andon.cards.records import (
    SCHEMA,
    ApprovalFact,
    ArtifactFact,
    DatasetFact,
    EvaluationFact,
    ModelCard,
    NarrativeSection,
    PickleTrust,
    TrainingRun,
)
from andon.core.errors import Invalid

HOSTILE = '<script>alert(1)</script><img src=x onerror="x()"> | a & "b"'
AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def hostile_card(*, approvals: bool = True, evaluated: bool = True) -> ModelCard:
    """A card with hostile text in every field a person or a file controls."""
    data = DatasetFact("dv_1", HOSTILE, 5, "abcdef0123456789")
    return ModelCard(
        id="mv_1",
        model="fraud-detector",
        team="fraud-ml",
        version=2,
        aliases=["champion"],
        owners=[HOSTILE],
        created_by=HOSTILE,
        created_at=AT,
        sections=[
            NarrativeSection(name, question, HOSTILE if name == "purpose" else "",
                             name in REQUIRED, 1, "admin", AT)
            for name, question in SECTIONS.items()
        ],
        complete=False,
        missing=["intended_users", "limitations", "risks"],
        training_run=TrainingRun("run_1", HOSTILE, "finished", HOSTILE, None,
                                 {"note": HOSTILE}, {"f1": 0.85}),
        training_data=[data, DatasetFact("fingerprint-x", None, None, None)],
        evaluation=EvaluationFact(
            id="evl_1", suite=HOSTILE, dataset=data, created_by="admin", created_at=AT,
            metrics={"f1": 0.8612345, "rows": 5, "task": "classification"},
            slices={HOSTILE: {"f1": 0.8, "rows": 2}},
            bias={"attribute": HOSTILE, "demographic_parity_diff": 0.03,
                  "groups": {HOSTILE: {"positive_rate": 0.5}, "b": {"positive_rate": 0.25}}},
            champion="fraud-detector@1", champion_metrics={"f1": 0.84}, deltas={"f1": 0.0212345},
        ) if evaluated else None,
        artifact=ArtifactFact("pickle", "sha256:" + "a" * 64, 1234,
                              {"inputs": [{"name": HOSTILE, "type": "float", "shape": [1]}]},
                              True, PickleTrust(HOSTILE, AT, HOSTILE)),
        generated_at=AT,
        approvals=[ApprovalFact("apr_1", "production", "risk-owner", HOSTILE, HOSTILE, AT)]
        if approvals else [],
    )  # fmt: skip


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(name for name, _ in attrs)


def test_html_escapes_every_text_and_runs_nothing() -> None:
    page = render.to_html(hostile_card())
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert "onerror" not in parser.attrs
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("&lt;img src=x onerror=&quot;x()&quot;&gt;") >= 10
    # Self-contained: no link, no external resource, its style inline.
    assert "link" not in parser.tags and "<style>" in page and "http" not in page
    assert 'id="trusted-pickle"' in page and "Trusted pickle" in page
    assert "+0.02123" in page  # the delta against the champion, signed
    assert 'class="bias-groups"' in page and "<td>0.25</td>" in page
    assert "Written for version 1." in page  # the purpose carried forward from version 1


def test_markdown_escapes_tags_and_pipes() -> None:
    text = render.to_markdown(hostile_card())
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;" in text and '\\| a &amp; "b"' in text
    assert "> **Trusted pickle**" in text
    assert "| f1 | 0.8612 | 0.84 | +0.02123 |" in text
    assert "fingerprint-x (not recorded by the data domain)" in text
    assert "| group | positive_rate |" in text and "| b | 0.25 |" in text
    assert "_(written for version 1)_" in text
    assert "_Not written yet (required):_ Who may rely on its outputs" in text


def test_empty_approvals_and_no_evaluation_say_so() -> None:
    card = hostile_card(approvals=False, evaluated=False)
    assert "## Approvals\n\nnone recorded" in render.to_markdown(card)
    assert "<p>none recorded</p>" in render.to_html(card)
    assert "Not evaluated yet." in render.to_markdown(card)


def test_json_is_stable_and_follows_the_schema() -> None:
    card = hostile_card()
    text = render.render(card, "json")
    assert text == render.to_json(hostile_card())
    doc = json.loads(text)
    assert doc["schema"] == SCHEMA and doc["ref"] == "fraud-detector@2"
    assert set(doc) == {
        "schema", "id", "model", "team", "version", "ref", "aliases", "owners", "created_by",
        "created_at", "generated_at", "completeness", "sections", "training_run",
        "training_data", "evaluation", "approvals", "artifact",
    }  # fmt: skip
    assert doc["completeness"] == {"complete": False, "missing": list(card.missing)}
    assert [s["name"] for s in doc["sections"]] == list(SECTIONS)
    assert doc["evaluation"]["deltas"] == {"f1": 0.0212345}
    assert doc["artifact"]["trusted_by"]["at"] == "2026-11-23T08:00:00+00:00"
    assert doc["approvals"][0]["role"] == "risk-owner"
    with pytest.raises(Invalid, match="'pdf' is not one of md, html, json"):
        render.render(card, "pdf")
