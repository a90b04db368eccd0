"""Canary and shadow on a worker: which variant a caller gets, and the figures each variant
earns, counted in memory and written about once a second (docs/canary.md).

A caller's variant is sticky: sha256 of the endpoint's name and the caller key (the
``X-Andon-Caller-Key`` header, else the principal's name), taken mod 100, below the canary's
percent -> canary. Every worker computes the same answer, so no state is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import time
from dataclasses import replace
from typing import Any

from andon.core.clock import Clock
from andon.core.context import Database
from andon.serve import variant_stats
from andon.serve.records import Binding
from andon.serve.spec import EndpointSpec
from andon.serve.variant_stats import Tally, TallyKey

log = logging.getLogger("andon.gateway")
FLUSH_S = 1.0
KEEP_MINUTES = 2
"""Minutes a written tally stays in memory (a late request of the last minute adds to it)."""
MAX_CALLER_KEY = 200


def bucket(endpoint: str, caller_key: str) -> int:
    """0-99: where a caller falls on an endpoint (the same on every worker, every time)."""
    digest = hashlib.sha256(f"{endpoint}\n{caller_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def pick(
    endpoint: str, spec: EndpointSpec, variants: dict[str, Binding], caller_key: str
) -> Binding:
    """The binding that serves this caller: the canary's when its alias points to a version
    and the caller falls below its percent, else the primary's (which must exist)."""
    canary = variants.get("canary")
    if (
        canary is not None
        and spec.canary is not None
        and bucket(endpoint, caller_key) < spec.canary.percent
    ):
        return canary
    return variants["primary"]


def agreement(served: Any, shadow: Any) -> tuple[int, int]:
    """(rows compared, rows agreeing) of two answers' ``predictions``."""
    a = served.get("predictions") if isinstance(served, dict) else None
    b = shadow.get("predictions") if isinstance(shadow, dict) else None
    if not isinstance(a, list) or not isinstance(b, list):
        return 0, 0
    compared = max(len(a), len(b))
    return compared, sum(1 for x, y in zip(a, b, strict=False) if x == y)


class VariantBook:
    """One worker's per-variant tallies and their writer."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self.worker = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.tallies: dict[TallyKey, Tally] = {}
        self._task: asyncio.Task[None] | None = None

    def count(
        self,
        endpoint: str,
        binding: Binding,
        ms: float,
        *,
        error: bool,
        cost_nanos: int = 0,
        compared: int = 0,
        agreed: int = 0,
    ) -> None:
        """Add one request to its variant's tally of this minute."""
        key = TallyKey(
            endpoint,
            binding.variant,
            binding.model,
            binding.alias,
            binding.version,
            binding.model_version_id,
            variant_stats.minute_of(self.clock.now()),
        )
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = Tally()
        tally.add(ms, error=error, cost_nanos=cost_nanos, compared=compared, agreed=agreed)

    def start(self) -> None:
        """Write every second in the background of the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the writer and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_S)
            try:
                await self.flush()
            except Exception:
                # The store is busy or down: the tallies stay dirty, the next tick writes them.
                log.warning("gateway could not write its variant figures", exc_info=True)

    async def flush(self) -> int:
        """Write the tallies that changed (copies: requests keep counting meanwhile)."""
        dirty = [(key, tally) for key, tally in self.tallies.items() if tally.dirty]
        copies = [(key, replace(tally, histogram=dict(tally.histogram))) for key, tally in dirty]
        for _, tally in dirty:
            tally.dirty = False
        now = self.clock.now()
        started = time.perf_counter()
        try:
            written = await asyncio.get_running_loop().run_in_executor(
                None, variant_stats.flush, self.db, self.worker, copies, now
            )
        except BaseException:
            for _, tally in dirty:
                tally.dirty = True
            raise
        if time.perf_counter() - started > 0.5:
            log.warning("writing variant figures took %.2f s", time.perf_counter() - started)
        oldest = variant_stats.minute_of(now).timestamp() - KEEP_MINUTES * 60
        for key in [k for k, t in self.tallies.items() if not t.dirty]:
            if key.window_start.timestamp() < oldest:
                del self.tallies[key]
        return written
