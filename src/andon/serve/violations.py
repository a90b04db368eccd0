"""Guard violations: answers an endpoint's output guards refused, and the jidoka that stops an
endpoint whose answers keep breaking them.

The gateway refuses a violating answer itself (:mod:`andon.gateway.guards`); what it records
here is the violation with its evidence *masked* (``card_number: 4111********1111``): the raw
value is never stored, logged or sent.

:func:`record_violation` needs ``endpoint.guard``, which only the built-in ``gateway`` role
carries (bound to the ``gateway`` service principal the gateway creates on start). Each
violation is a row and a ``guard.violation`` outbox event, but no audit entry: a violation
changes no state a person decided (the answer was already refused), the audit chain is one
locked head every change of the platform writes through, and a misbehaving upstream can
produce violations at request rate. What *is* a decision, stopping the endpoint, is audited:
when the endpoint's ``guards.trip`` says ``violations`` within ``window``, the same
transaction pulls the endpoint's cord as the recording principal (``cord.pull`` in the audit
log, with the count and the last violation), and every gateway worker refuses the endpoint's
traffic within a poll. The count is in the store, so violations on every worker add up; it
starts again after the cord's last change (releasing the cord does not re-trip it at once on
the violations that pulled it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid
from andon.core.ids import new_id
from andon.core.records import published
from andon.policy.records import CordRecord
from andon.serve.cord_state import set_cord
from andon.serve.endpoints import endpoint_row
from andon.serve.spec import EndpointSpec
from andon.store import outbox
from andon.store.tables import auth as t
from andon.store.tables import serve as s

KINDS = ("pii", "deny", "json_schema", "max_chars")
ACTIONS = ("refuse", "fallback")


@published
@dataclass(frozen=True)
class ViolationRecord:
    """One refused answer (its evidence masked)."""

    id: str
    endpoint: str
    kind: str
    detector: str
    evidence: str
    principal: str
    action: str
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "kind": self.kind,
            "detector": self.detector,
            "evidence": self.evidence,
            "principal": self.principal,
            "action": self.action,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class Recorded:
    """What recording a violation did: the row, and the cord it pulled (jidoka), if any."""

    violation: ViolationRecord
    tripped: CordRecord | None = None


def _window_words(millis: int) -> str:
    if millis % 3_600_000 == 0:
        return f"{millis // 3_600_000}h"
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def record_violation(
    ctx: Context,
    endpoint: str,
    *,
    kind: str,
    detector: str,
    evidence: str,
    principal: str,
    action: str,
) -> Recorded:
    """Record that ``endpoint``'s guards refused an answer to ``principal`` (``evidence``
    already masked), emit ``guard.violation``, and pull the cord when the endpoint's trip
    count is reached (needs ``endpoint.guard``)."""
    if kind not in KINDS:
        raise Invalid(f"must be one of {', '.join(KINDS)}, not {kind!r}", field="kind")
    if action not in ACTIONS:
        raise Invalid(f"must be one of {', '.join(ACTIONS)}, not {action!r}", field="action")
    with ctx.db.transaction() as session:
        row = endpoint_row(session, endpoint)
        ctx.require("endpoint.guard", team_id=row.team_id, asset_id=row.asset_id)
        # One writer per endpoint at a time (PostgreSQL): two workers' violations cannot both
        # see the count one short of the trip, nor both pull the cord.
        session.scalar(select(s.Endpoint.id).where(s.Endpoint.id == row.id).with_for_update())
        now = ctx.clock.now()
        violation = s.GuardViolation(
            id=new_id("violation"),
            endpoint_id=row.id,
            kind=kind,
            detector=detector[:100],
            evidence=evidence[:500],
            principal=principal[:100],
            action=action,
            at=now,
        )
        session.add(violation)
        session.flush()
        team = str(session.scalar(select(t.Team.name).where(t.Team.id == row.team_id)))
        record = ViolationRecord(
            violation.id, endpoint, kind, violation.detector, violation.evidence,
            violation.principal, action, now,
        )  # fmt: skip
        outbox.emit(
            session,
            "guard.violation",
            row.id,
            {**record.as_dict(), "team": team},
            now,
        )
        guards = EndpointSpec.from_dict(row.spec).guards
        trip = guards.trip if guards is not None else None
        if trip is None:
            return Recorded(record)
        cord = session.get(s.EndpointCord, row.id)
        if cord is not None and cord.pulled:
            return Recorded(record)
        since = now - timedelta(milliseconds=trip.window_ms)
        if cord is not None and as_utc(cord.changed_at) > since:
            since = as_utc(cord.changed_at)
        count = session.scalar(
            select(func.count())
            .select_from(s.GuardViolation)
            .where(s.GuardViolation.endpoint_id == row.id, s.GuardViolation.at >= since)
        )
        if int(count or 0) < trip.violations:
            return Recorded(record)
        window = _window_words(trip.window_ms)
        pulled = set_cord(
            session,
            ctx,
            row,
            pull=True,
            reason=f"jidoka: {count} guard violations in {window} (last: {kind})",
            why={"jidoka": {"violations": int(count or 0), "window": window, "last": kind}},
        )
        return Recorded(record, pulled)


def list_violations(ctx: Context, endpoint: str, *, limit: int = 50) -> list[ViolationRecord]:
    """The most recent violations of ``endpoint``, newest first (needs ``endpoint.read``)."""
    if not 1 <= limit <= 1000:
        raise Invalid("must be between 1 and 1000", field="limit")
    with ctx.db.read() as session:
        row = endpoint_row(session, endpoint)
        ctx.require("endpoint.read", team_id=row.team_id, asset_id=row.asset_id)
        rows = session.scalars(
            select(s.GuardViolation)
            .where(s.GuardViolation.endpoint_id == row.id)
            .order_by(s.GuardViolation.at.desc(), s.GuardViolation.id.desc())
            .limit(limit)
        )
        return [
            ViolationRecord(
                v.id,
                endpoint,
                v.kind,
                v.detector,
                v.evidence,
                v.principal,
                v.action,
                as_utc(v.at),
            )
            for v in rows
        ]
