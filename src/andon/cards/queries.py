"""What other domains read of model cards: a version's narrative completeness, which gates
check (``card.complete``)."""

from __future__ import annotations

from andon.cards.narrative import Completeness, completeness_of

__all__ = ["Completeness", "completeness_of"]
