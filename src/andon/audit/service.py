"""Reading, verifying and anchoring the audit log (writing happens inside every other service)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from andon.audit import anchors, chain, keys, verification

# Re-exported: every domain's services write their audit entries through this door.
from andon.audit.chain import Entry as Entry
from andon.audit.chain import record_change as record_change
from andon.audit.keys import AuditKey as AuditKey
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid, Unavailable
from andon.store.tables.audit import AuditEntry, AuditHead


def list_entries(
    ctx: Context,
    *,
    object_id: str | None = None,
    actor: str | None = None,
    after: int | None = None,
    limit: int = 50,
    newest_first: bool = True,
) -> list[chain.Entry]:
    """Entries filtered by object and actor, paged by ``seq`` (``after`` is exclusive)."""
    if not 1 <= limit <= 1000:
        raise Invalid("must be between 1 and 1000", field="limit")
    with ctx.db.read() as session:
        ctx.require("audit.read")
        stmt = select(AuditEntry)
        if object_id:
            stmt = stmt.where(AuditEntry.object_id == object_id)
        if actor:
            stmt = stmt.where(AuditEntry.actor == actor)
        if after is not None:
            stmt = stmt.where(AuditEntry.seq < after if newest_first else AuditEntry.seq > after)
        order = AuditEntry.seq.desc() if newest_first else AuditEntry.seq.asc()
        rows = session.scalars(stmt.order_by(order).limit(limit))
        return [
            chain.Entry(
                r.seq,
                r.id,
                as_utc(r.ts),
                r.actor,
                r.action,
                r.object_id,
                r.reason,
                r.change,
                r.change_digest,
                r.prev_hash,
                r.hash,
            )
            for r in rows
        ]


def verify(ctx: Context, *, anchor_file: Path | None = None) -> chain.Verification:
    """Check the whole chain with the audit key, and against every anchor in ``anchor_file``.

    Needs ``audit.verify``. A missing key is :class:`Invalid` (with a hint), never a pass.
    """
    with ctx.db.read() as session:
        ctx.require("audit.verify")
        key = keys.load_key(ctx.settings)
        lines = None if anchor_file is None else anchors.read_lines(anchor_file)
        result = chain.verify(session, key)
        if lines is None:
            return result
        return anchors.check(session, key, result, lines, verification.keyed_from(session))


def anchor(ctx: Context, *, out: Path | None = None, url: str | None = None) -> anchors.Anchor:
    """Sign the chain head and export it: append it to ``out`` and/or POST it to ``url``.

    Needs ``audit.anchor``. Exporting writes no audit entry: an anchor is a signed read of the
    head, and an entry would move the head it just anchored (so an interval anchorer would
    never find the head at rest).
    """
    made = _export(ctx, None, out, url)
    if made is None:  # pragma: no cover - only with ``since``
        raise RuntimeError("no anchor was made")
    return made


def anchor_if_moved(
    ctx: Context,
    since: anchors.Anchor | None,
    *,
    out: Path | None = None,
    url: str | None = None,
) -> anchors.Anchor | None:
    """Like :func:`anchor`, but export nothing (and return None) while the head is the one
    ``since`` anchored: what ``andon serve`` runs at every interval."""
    return _export(ctx, since, out, url)


def _export(
    ctx: Context, since: anchors.Anchor | None, out: Path | None, url: str | None
) -> anchors.Anchor | None:
    if url is not None and not url.startswith(("http://", "https://")):
        raise Invalid("must be an http:// or https:// URL", field="url")
    with ctx.db.read() as session:
        ctx.require("audit.anchor")
        key = keys.load_key(ctx.settings)
        head = session.get(AuditHead, 1)
        if head is None:
            raise Unavailable("the audit_head row is missing", hint="run `andon db upgrade`")
        seq, hash_, keyed_from = head.seq, head.hash, head.keyed_from
    if since is not None and (since.seq, since.hash, since.keyed_from) == (seq, hash_, keyed_from):
        return None
    made = anchors.sign(
        key, seq=seq, hash=hash_, keyed_from=keyed_from, at=as_utc(ctx.clock.now()).isoformat()
    )
    if out is not None:
        anchors.append_line(out, made)
    if url is not None:
        anchors.post(url, made)
    return made
