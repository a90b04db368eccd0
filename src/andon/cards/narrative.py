"""The narrative half of a model card: sections the model's owner writes, and completeness.

A card has facts (gathered from the line by :mod:`andon.cards.service`) and narrative: purpose, intended
users, limitations, risks and the rest of :data:`SECTIONS`. Narrative is written per version and
carries forward: a section a version does not set is read from the newest earlier version of the
same model that set it, so an owner writes the purpose once, not once per retraining. The
sections in :data:`REQUIRED` must be filled for the card to be complete; ``card.complete`` is a
fact gates use (:func:`completeness`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid
from andon.registry.queries import model_by_ref, parse_ref, version_by_ref
from andon.store.tables import registry as r

SECTIONS: dict[str, str] = {
    "purpose": "What the model decides, for whom, and why it exists.",
    "intended_users": "Who may rely on its outputs, and in which workflow.",
    "out_of_scope": "Uses it was not built or tested for.",
    "limitations": "Known weaknesses: populations, inputs or conditions where it is unreliable.",
    "risks": "Harms a wrong output can cause and how they are mitigated.",
    "ethical_considerations": "Sensitive attributes, fairness trade-offs, consent.",
    "monitoring": "What is watched in production and who is paged.",
}
"""Narrative sections, in card order, with the question each answers."""

REQUIRED: tuple[str, ...] = ("purpose", "intended_users", "limitations", "risks")
"""Sections a card needs before it counts as complete."""

MAX_TEXT = 20_000


@dataclass(frozen=True, slots=True)
class Section:
    """A narrative section as the card shows it, and which version wrote it."""

    name: str
    text: str
    from_version: int
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Completeness:
    """Whether every required section is filled, and which are missing."""

    complete: bool
    missing: tuple[str, ...]

    def as_facts(self) -> dict[str, object]:
        """The ``card`` facts gates read: ``card.complete``, ``card.missing``."""
        return {"complete": self.complete, "missing": list(self.missing)}


def _resolved(session: Session, model_id: str, version: int) -> dict[str, Section]:
    """Each section's newest text at or before ``version`` (later versions override)."""
    rows = session.execute(
        select(r.ModelCardSection, r.ModelVersion.version)
        .join(r.ModelVersion, r.ModelVersion.id == r.ModelCardSection.model_version_id)
        .where(r.ModelVersion.model_id == model_id, r.ModelVersion.version <= version)
        .order_by(r.ModelVersion.version)
    ).all()
    out: dict[str, Section] = {}
    for row, number in rows:
        out[row.section] = Section(
            row.section, row.text, number, row.updated_by, as_utc(row.updated_at)
        )
    return out


def completeness_of(session: Session, model_version_id: str) -> Completeness:
    """Card completeness of one version, inside the caller's session (no permission check:
    for services that already checked read access, such as gates)."""
    version = session.get(r.ModelVersion, model_version_id)
    if version is None:
        return Completeness(False, REQUIRED)
    sections = _resolved(session, version.model_id, version.version)
    missing = tuple(s for s in REQUIRED if not sections.get(s, None) or not sections[s].text)
    return Completeness(not missing, missing)


def sections_of(session: Session, model_version_id: str) -> dict[str, Section]:
    """The resolved narrative of one version, inside the caller's session (no check)."""
    version = session.get(r.ModelVersion, model_version_id)
    if version is None:
        return {}
    return _resolved(session, version.model_id, version.version)


def read_sections(ctx: Context, ref: str) -> dict[str, Section]:
    """The narrative of the version ``ref`` names, section by section (``model.read``)."""
    parsed = parse_ref(ref)
    with ctx.db.read() as session:
        model = model_by_ref(session, parsed)
        ctx.require("model.read", team_id=model.team_id, asset_id=model.asset_id)
        row = version_by_ref(session, model, parsed)
        return _resolved(session, model.id, row.version)


def edit_section(ctx: Context, ref: str, section: str, text: str) -> Completeness:
    """Write one narrative section of the version ``ref`` names; returns the new completeness.

    An empty ``text`` clears the section for this version (an earlier version's text, if any,
    then shows through). Needs ``model.card`` on the model.
    """
    if section not in SECTIONS:
        raise Invalid(f"'{section}' is not one of {', '.join(SECTIONS)}", field="section")
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise Invalid(f"is {len(text)} characters; at most {MAX_TEXT}", field="text")
    parsed = parse_ref(ref)
    with ctx.db.transaction() as session:
        model = model_by_ref(session, parsed)
        ctx.require("model.card", team_id=model.team_id, asset_id=model.asset_id)
        version = version_by_ref(session, model, parsed)
        now = ctx.clock.now()
        row = session.get(r.ModelCardSection, (version.id, section))
        before = row.text if row is not None else None
        if row is None:
            session.add(
                r.ModelCardSection(
                    model_version_id=version.id,
                    section=section,
                    text=text,
                    updated_by=ctx.principal.name,
                    updated_at=now,
                )
            )
        else:
            row.text, row.updated_by, row.updated_at = text, ctx.principal.name, now
        session.flush()
        record_change(
            session,
            ctx,
            action="model.card",
            object_id=version.id,
            change={
                "model": model.name,
                "version": version.version,
                "section": section,
                "before": before,
                "after": text,
            },
            event="model.card.updated",
        )
        return completeness_of(session, version.id)
