"""What one worker serves from: the snapshot, refreshed when the change counter moves, and
the callers it has authenticated.

Every state change writes an audit entry, so the audit head's sequence is a change counter:
a worker reads it every ``poll_s`` (200 ms) and reloads the snapshot when it moved. A cord
pulled, an endpoint applied, an alias moved, a token revoked or a role unbound therefore
reaches every worker within one poll and one reload. Authenticated callers are cached until
the counter moves, and never longer than ``token_ttl_s`` (so an expiring token stops working
within that time of its expiry).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from andon.auth import service as auth
from andon.core.clock import Clock
from andon.core.config import Settings
from andon.core.context import Context, Database
from andon.serve import queries
from andon.serve.records import Snapshot

log = logging.getLogger("andon.gateway")
T = TypeVar("T")


class LiveState:
    """The current snapshot and the authenticated callers of one worker."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        *,
        poll_s: float = 0.2,
        token_ttl_s: float = 1.0,
    ) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self.poll_s, self.token_ttl_s = poll_s, token_ttl_s
        self.snapshot: Snapshot = queries.load_snapshot(db)
        self.loaded_at = time.monotonic()
        self._callers: dict[str, tuple[float, Context]] = {}
        self._task: asyncio.Task[None] | None = None
        self.listeners: list[Callable[[Snapshot], None]] = []

    def start(self) -> None:
        """Poll the change counter in the background of the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _off_loop(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                seq = await self._off_loop(queries.change_seq, self.db)
                if seq != self.snapshot.seq:
                    await self.refresh()
            except Exception:
                # The store is down or busy: keep serving the last snapshot, try again next poll.
                log.warning("gateway could not refresh its snapshot", exc_info=True)

    async def refresh(self) -> None:
        """Reload the snapshot now and forget the authenticated callers."""
        snapshot = await self._off_loop(queries.load_snapshot, self.db)
        self.snapshot, self.loaded_at = snapshot, time.monotonic()
        self._callers.clear()
        for listener in self.listeners:
            listener(snapshot)

    async def caller(self, bearer: str) -> Context:
        """The context of a bearer token (:class:`Unauthenticated` when it is not valid)."""
        key = hashlib.sha256(bearer.encode()).hexdigest()  # never keep the token itself
        hit = self._callers.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.token_ttl_s:
            return hit[1]
        ctx = await self._off_loop(self._authenticate, bearer)
        if len(self._callers) > 10_000:
            self._callers.clear()
        self._callers[key] = (now, ctx)
        return ctx

    def _authenticate(self, bearer: str) -> Context:
        return auth.authenticate(self.db, self.settings, bearer, clock=self.clock)
