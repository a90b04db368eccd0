"""Per-team telemetry budgets: bytes per UTC day, a warning before the cap, an action at it.

A budget is ``{bytes_per_day, warn_at, action}``. What counts is the bytes a batch takes in the
spool (Arrow IPC, after masking: what andon stores), metered at intake. When a day's bytes first
reach ``warn_at`` of the budget (0.8 by default), ``telemetry.budget.warning`` goes to the outbox;
when they first reach the budget, ``telemetry.budget.exceeded``; each once per team and day,
even with several receivers metering at once. From then until the UTC day rolls over the
declared action holds:

``refuse``
    every batch is refused with 429 (``Retry-After`` until midnight UTC); OTLP producers keep
    their data and retry.
``drop_debug_logs``
    log records below INFO (severity number under 9) are dropped at intake; spans and metrics
    are kept.
``sample_harder``
    the writer samples healthy traces ten times harder (every probabilistic share divided by
    10); errors and slow traces are still kept, since those policies are untouched.

The batch that crosses the cap is taken: the cap is where the action starts, not a byte count
the day can never pass.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from andon.core.errors import Invalid
from andon.store import outbox
from andon.store.inserts import insert_or_ignore
from andon.store.tables import telemetry as tt

ACTIONS = ("refuse", "drop_debug_logs", "sample_harder")
WARN_AT = 0.8
HARDER = 10
INFO = 9
"""OTLP's severity number of INFO: records below it are TRACE or DEBUG."""


@dataclass(frozen=True)
class Budget:
    """A parsed budget."""

    bytes_per_day: int
    warn_at: float
    action: str

    def as_dict(self) -> dict[str, Any]:
        """The stored form."""
        return {"bytes_per_day": self.bytes_per_day, "warn_at": self.warn_at, "action": self.action}


def parse(doc: dict[str, Any] | None) -> Budget | None:
    """A budget from its stored or given form; :class:`Invalid` naming the field."""
    if doc is None:
        return None
    unknown = sorted(set(doc) - {"bytes_per_day", "warn_at", "action"})
    if unknown:
        raise Invalid(f"unknown budget field {unknown[0]!r}", field=f"budget.{unknown[0]}")
    limit = doc.get("bytes_per_day")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise Invalid("must be a whole number of bytes, at least 1", field="budget.bytes_per_day")
    warn = doc.get("warn_at", WARN_AT)
    if isinstance(warn, bool) or not isinstance(warn, int | float) or not 0 < warn < 1:
        raise Invalid("must be a fraction between 0 and 1", field="budget.warn_at")
    action = doc.get("action", "refuse")
    if action not in ACTIONS:
        raise Invalid(f"must be one of {', '.join(ACTIONS)}", field="budget.action")
    return Budget(limit, float(warn), str(action))


def resets_at(day: date) -> datetime:
    """When the budget of ``day`` gives way to the next day's (midnight UTC)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def usage(session: Session, team_id: str, day: date) -> tt.TelemetryUsage | None:
    """The team's usage row of ``day``, if it sent anything."""
    return session.get(tt.TelemetryUsage, (team_id, day))


def meter(
    session: Session, team_id: str, team: str, budget: Budget | None, day: date, size: int,
    at: datetime,
) -> None:  # fmt: skip
    """Add ``size`` bytes to the team's day and announce a first crossing of the warning or
    the cap (a conditional update, so of two receivers crossing at once one announces)."""
    # Two receivers may race to open the day: the first insert wins, the other does nothing.
    insert_or_ignore(session, tt.TelemetryUsage, {"team_id": team_id, "day": day,
                     "bytes": 0, "warned": False, "exceeded": False})  # fmt: skip
    U = tt.TelemetryUsage
    key = (U.team_id == team_id) & (U.day == day)
    session.execute(update(U).where(key).values(bytes=U.bytes + size))
    if budget is None:
        return
    used = session.execute(select(U.bytes).where(key)).scalar_one()
    for column, event, threshold in (
        ("warned", "telemetry.budget.warning", budget.bytes_per_day * budget.warn_at),
        ("exceeded", "telemetry.budget.exceeded", budget.bytes_per_day),
    ):
        if used < threshold:
            continue
        flag = getattr(U, column)
        done = session.execute(update(U).where(key, flag.is_(False)).values({column: True}))
        if getattr(done, "rowcount", 0) == 1:
            outbox.emit(session, event, team_id, {
                "team": team, "day": day.isoformat(), "bytes": int(used),
                "bytes_per_day": budget.bytes_per_day, "action": budget.action,
                "percent": round(100 * used / budget.bytes_per_day, 1),
                "resets_at": resets_at(day).isoformat(),
            }, at)  # fmt: skip


def harder(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every probabilistic share divided by :data:`HARDER` (composite
    sub-policies included); every other policy as it was."""
    doc = copy.deepcopy(document)

    def visit(policy: dict[str, Any]) -> None:
        settings = policy.get("probabilistic")
        if policy.get("type") == "probabilistic" and isinstance(settings, dict):
            share = settings.get("sampling_percentage")
            if isinstance(share, int | float) and not isinstance(share, bool):
                settings["sampling_percentage"] = share / HARDER
        for key in ("and", "composite"):
            inner = policy.get(key)
            subs = inner.get("and_sub_policy" if key == "and" else "composite_sub_policy") \
                if isinstance(inner, dict) else None  # fmt: skip
            for sub in subs or ():
                if isinstance(sub, dict):
                    visit(sub)

    for policy in doc.get("policies", ()):
        if isinstance(policy, dict):
            visit(policy)
    return doc
