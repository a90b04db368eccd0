"""Promotion and rollback: moving a stage's alias, the door for that state.

``promote`` refuses (changing nothing) while the model's andon cord is pulled (:class:`Stopped`),
and with one :class:`GateFailed` line naming everything missing when the training data checks are
red, the stage's approvals are missing, rejected or expired, or the gate fails (evaluated now,
on current facts). On success, in one transaction: the gate decision is stored, the alias moves
by compare-and-swap, the approval request is marked used, a promotion row records the move,
with lineage edges (model version, gate decision and approvals -input-> promotion), the audit
entry and the event ``deployment.promoted``.

``rollback`` restores the version the stage held before the current one (from the promotion
history), needs a reason, and refuses when there is nothing to roll back to.

One promotion wins. Each request first reads what the stage holds (the alias's version and the
newest promotion of the stage, the history's head) and decides against that; the move then
compare-and-swaps on both, in the write transaction: the registry's conditional alias UPDATE
(:func:`andon.registry.aliases.move_alias`), then the head, read after the UPDATE holds the
alias row (so every earlier move has committed). A request whose stage moved meanwhile, or
moved away and back, changes nothing and gets :class:`Conflict` naming the version that won.
``promote`` also takes ``expected_version``: the caller's own view of the stage, checked the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, GateFailed, Invalid, NotFound
from andon.core.ids import new_id
from andon.lineage.service import link
from andon.policy.approvals import status_at
from andon.policy.cord import stop_if_pulled
from andon.policy.decisions import decide_gate
from andon.policy.facts import gate_facts
from andon.policy.records import PromotionRecord
from andon.policy.service import decision_record, model_and_version, stage_of
from andon.registry.queries import model_by_ref, parse_ref
from andon.registry.service import alias_version, move_alias
from andon.store.tables import policy as p
from andon.store.tables import registry as r


@dataclass(frozen=True, slots=True)
class _Seen:
    """What a stage held when a request read it: the alias's version and the history's head
    (how many moves it holds: the history is append-only, so the count names its head even
    when two moves share a timestamp)."""

    alias: str
    version: int | None
    head: int


def _head(session: Session, model_id: str, stage: str) -> p.Promotion | None:
    """The newest promotion or rollback of the stage."""
    return session.scalar(
        select(p.Promotion)
        .where(p.Promotion.model_id == model_id, p.Promotion.stage == stage)
        .order_by(p.Promotion.promoted_at.desc(), p.Promotion.id.desc())
        .limit(1)
    )


def _moves(session: Session, model_id: str, stage: str) -> int:
    """How many promotions and rollbacks the stage's history holds."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(p.Promotion)
            .where(p.Promotion.model_id == model_id, p.Promotion.stage == stage)
        )
        or 0
    )


def _seen(session: Session, model: r.Model, stage: str, alias: str) -> _Seen:
    return _Seen(alias, alias_version(session, model.id, alias), _moves(session, model.id, stage))


def _lost(session: Session, model: r.Model, stage: str, alias: str, what: str) -> Conflict:
    """The Conflict for a request whose stage moved after it read it, naming the winner."""
    winner = alias_version(session, model.id, alias)
    head = _head(session, model.id, stage)
    named = f"{model.name}@{winner}" if winner is not None else "nothing"
    verb = {"promote": "promoted", "rollback": "rolled back"}
    by = (
        f" ({verb.get(head.kind, head.kind)} by {head.promoted_by})"
        if head and head.to_version == winner
        else ""
    )
    return Conflict(
        f"{what} lost: stage {stage} moved to {named}{by} after this request read it; "
        "nothing changed",
        winner=winner,
        hint=f"check {named} and ask again if this should still replace it",
    )


def _take_stage(
    session: Session, ctx: Context, model: r.Model, stage: str, seen: _Seen, to: int, what: str
) -> None:
    """Move the stage's alias to ``to`` if the stage still holds what ``seen`` read."""
    try:
        with session.begin_nested():  # on a lost race, undo the move before naming the winner
            move_alias(
                session,
                model_id=model.id,
                model_name=model.name,
                alias=seen.alias,
                expected=seen.version,
                to=to,
                at=ctx.clock.now(),
            )
            # The UPDATE holds the alias row: every move before this one has committed, so a
            # longer history means the stage moved away and back (same version, newer head).
            if _moves(session, model.id, stage) != seen.head:
                raise Conflict("the stage's history moved")
    except Conflict:
        raise _lost(session, model, stage, seen.alias, what) from None


def _record(row: p.Promotion, model: r.Model) -> PromotionRecord:
    return PromotionRecord(
        id=row.id,
        model=model.name,
        stage=row.stage,
        alias=row.alias,
        kind=row.kind,
        from_version=row.from_version,
        to_version=row.to_version,
        gate_decision_id=row.gate_decision_id,
        request_id=row.request_id,
        reason=row.reason,
        promoted_by=row.promoted_by,
        promoted_at=as_utc(row.promoted_at),
    )


def _approved_request(
    session: Session, version_id: str, stage: str, roles: tuple[str, ...], ctx: Context
) -> tuple[p.ApprovalRequest | None, str | None]:
    """The newest usable approved request, or None and what is wrong."""
    if not roles:
        return None, None
    row = session.scalar(
        select(p.ApprovalRequest)
        .where(
            p.ApprovalRequest.model_version_id == version_id,
            p.ApprovalRequest.stage == stage,
            p.ApprovalRequest.status != "used",
        )
        .order_by(p.ApprovalRequest.requested_at.desc(), p.ApprovalRequest.id.desc())
        .limit(1)
    )
    if row is None:
        return None, f"approvals missing: {', '.join(roles)} (no request: `andon approval request`)"
    status = status_at(row, ctx.clock.now())
    if status == "expired":
        return None, f"approval request {row.id} expired at {as_utc(row.expires_at).isoformat()}"
    if status == "rejected":
        return None, f"approval request {row.id} was rejected"
    done = set(
        session.scalars(
            select(p.Approval.role).where(
                p.Approval.request_id == row.id, p.Approval.decision == "approve"
            )
        )
    )
    missing = [role for role in roles if role not in done]
    if missing:
        return None, f"approvals missing: {', '.join(missing)} (request {row.id})"
    return row, None


def promote(
    ctx: Context,
    ref: str,
    stage: str,
    *,
    reason: str = "",
    expected_version: int | None = None,
) -> PromotionRecord:
    """Promote the version ``ref`` names to ``stage``: move the stage's alias to it.

    ``expected_version`` (when given) is the version the stage must hold now; either way the
    stage must still hold what this request read when the move is made (see the module).
    """
    with ctx.db.read() as session:
        model, version = model_and_version(session, ref)
        ctx.require("model.promote", team_id=model.team_id, asset_id=model.asset_id)
        _, rule = stage_of(session, model, stage)
        seen = _seen(session, model, stage, rule.alias)
        label = f"{model.name}@{version.version}"
        if expected_version is not None and seen.version != expected_version:
            raise _lost(session, model, stage, rule.alias, f"promotion of {label}")
    with ctx.db.transaction() as session:
        model, version = model_and_version(session, ref)
        ctx.require("model.promote", team_id=model.team_id, asset_id=model.asset_id)
        stop_if_pulled(session, model)
        policy, rule = stage_of(session, model, stage)
        if rule.alias != seen.alias:
            raise _lost(session, model, stage, seen.alias, f"promotion of {label}")
        current = seen.version
        if current == version.version:
            raise Conflict(f"{label} is already the {rule.alias} of stage {stage}")
        problems: list[str] = []
        _, _, data = gate_facts(session, version)
        if data.red:
            problems.append(f"training data checks are red ({'; '.join(data.failing[:3])})")
        request, missing = _approved_request(session, version.id, stage, rule.approvals, ctx)
        if missing:
            problems.append(missing)
        decision = decide_gate(session, ctx, model, version, policy, rule)
        if not decision.passed:
            summary = decision_record(decision, model, version.version).summary()
            problems.append(f"gate failed: {summary}")
        if problems:
            raise GateFailed(f"refusing to promote {label} to {stage}: {'; '.join(problems)}")
        _take_stage(session, ctx, model, stage, seen, version.version, f"promotion of {label}")
        now = ctx.clock.now()
        row = p.Promotion(
            id=new_id("promotion"),
            model_id=model.id,
            model_version_id=version.id,
            stage=stage,
            alias=rule.alias,
            kind="promote",
            from_version=current,
            to_version=version.version,
            gate_decision_id=decision.id,
            request_id=request.id if request else None,
            reason=reason,
            promoted_by=ctx.principal.name,
            promoted_at=now,
        )
        session.add(row)
        session.flush()
        inputs = [(version.id, "model_version"), (decision.id, "gate_decision")]
        if request is not None:
            request.status = "used"
            inputs += [
                (a, "approval")
                for a in session.scalars(
                    select(p.Approval.id).where(
                        p.Approval.request_id == request.id, p.Approval.decision == "approve"
                    )
                )
            ]
        for src, kind in inputs:
            link(
                session,
                src_id=src,
                src_kind=kind,
                dst_id=row.id,
                dst_kind="promotion",
                relation="input",
                at=now,
            )
        record_change(
            session,
            ctx,
            action="model.promote",
            object_id=row.id,
            change={
                "model": model.name,
                "version": version.version,
                "stage": stage,
                "alias": rule.alias,
                "from": current,
                "to": version.version,
                "gate_decision": decision.id,
                "policy_version": policy.version,
                "request": request.id if request else None,
            },
            reason=reason,
            event="deployment.promoted",
        )
        return _record(row, model)


def rollback(ctx: Context, name: str, stage: str, *, reason: str) -> PromotionRecord:
    """Restore the version ``stage`` held before its current one; records why."""
    reason = reason.strip()
    if not reason:
        raise Invalid("say why you roll back", field="reason")
    parsed = parse_ref(name)
    if parsed.version is not None or parsed.alias is not None:
        raise Invalid(f"'{name}' must name a model, not a version", field="model")
    with ctx.db.read() as session:
        model = model_by_ref(session, parsed)
        ctx.require("model.rollback", team_id=model.team_id, asset_id=model.asset_id)
        head = _head(session, model.id, stage)
        seen = _seen(session, model, stage, head.alias) if head else None
    with ctx.db.transaction() as session:
        model = model_by_ref(session, parsed)
        ctx.require("model.rollback", team_id=model.team_id, asset_id=model.asset_id)
        history = list(
            session.scalars(
                select(p.Promotion)
                .where(p.Promotion.model_id == model.id, p.Promotion.stage == stage)
                .order_by(p.Promotion.promoted_at.desc(), p.Promotion.id.desc())
            )
        )
        if not history:
            raise NotFound(f"model '{model.name}' was never promoted to {stage}", field="stage")
        alias = history[0].alias
        if seen is None or seen.alias != alias:
            raise _lost(session, model, stage, alias, f"rollback of {model.name}")
        current = seen.version
        arrival = next(
            (h for h in history if h.kind == "promote" and h.to_version == current), None
        )
        if current is None or arrival is None or arrival.from_version is None:
            raise Conflict(
                f"nothing to roll back to: {model.name}@{current} is the first version "
                f"promoted to {stage}"
            )
        target = arrival.from_version
        version = session.scalar(
            select(r.ModelVersion).where(
                r.ModelVersion.model_id == model.id, r.ModelVersion.version == target
            )
        )
        assert version is not None  # versions are immutable and never deleted
        _take_stage(session, ctx, model, stage, seen, target, f"rollback of {model.name}")
        now = ctx.clock.now()
        row = p.Promotion(
            id=new_id("promotion"),
            model_id=model.id,
            model_version_id=version.id,
            stage=stage,
            alias=alias,
            kind="rollback",
            from_version=current,
            to_version=target,
            gate_decision_id=None,
            request_id=None,
            reason=reason,
            promoted_by=ctx.principal.name,
            promoted_at=now,
        )
        session.add(row)
        session.flush()
        record_change(
            session,
            ctx,
            action="model.rollback",
            object_id=row.id,
            change={
                "model": model.name,
                "stage": stage,
                "alias": alias,
                "from": current,
                "to": target,
            },
            reason=reason,
            event="deployment.rolled_back",
        )
        return _record(row, model)


def promotions(ctx: Context, name: str, *, stage: str | None = None) -> list[PromotionRecord]:
    """The promotion history of a model (newest first), optionally of one stage."""
    parsed = parse_ref(name)
    with ctx.db.read() as session:
        model = model_by_ref(session, parsed)
        ctx.require("model.read", team_id=model.team_id, asset_id=model.asset_id)
        stmt = select(p.Promotion).where(p.Promotion.model_id == model.id)
        if stage is not None:
            stmt = stmt.where(p.Promotion.stage == stage)
        rows = session.scalars(stmt.order_by(p.Promotion.promoted_at.desc(), p.Promotion.id.desc()))
        return [_record(row, model) for row in rows]
