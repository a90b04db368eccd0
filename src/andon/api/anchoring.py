"""The interval anchorer `andon serve` runs: the signed audit head, exported when it moved."""

from __future__ import annotations

import asyncio
import logging

from andon.audit import anchors
from andon.audit import service as audit
from andon.core.clock import Clock
from andon.core.config import Settings
from andon.core.context import SYSTEM, Context, Database
from andon.core.errors import AndonError

_LOG = logging.getLogger(__name__)


async def run(settings: Settings, db: Database, clock: Clock) -> None:
    """Every ``audit_anchor_interval`` seconds, anchor the head if it moved since the last
    anchor (the last line of the anchor file at start, then the last one this loop made).

    Acts as the platform itself. A failure (no key, the collector down) is logged and retried
    at the next tick; it never stops the server.
    """
    interval = settings.audit_anchor_interval
    path, url = settings.resolved_audit_anchor_file, settings.audit_anchor_url
    ctx = Context(db=db, settings=settings, principal=SYSTEM, clock=clock)
    last = await asyncio.to_thread(anchors.last_in_file, path)
    failing = False
    while True:
        await asyncio.sleep(interval)
        try:
            made = await asyncio.to_thread(audit.anchor_if_moved, ctx, last, out=path, url=url)
        except AndonError as exc:
            if not failing:
                _LOG.warning("audit anchor not written: %s", exc)
            failing = True
            continue
        except Exception:
            _LOG.exception("audit anchor failed")
            failing = True
            continue
        if failing:
            _LOG.warning("audit anchors are written again")
        failing = False
        if made is not None:
            last = made
            _LOG.info("anchored audit entry %s to %s", made.seq, path)
