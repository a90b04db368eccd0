"""Token-bucket rate limits per principal and per team, per endpoint.

Each worker holds its share of a limit: ``rate / workers`` tokens a second and
``max(1, burst / workers)`` at once, so the gateway as a whole admits about the declared
rate without any shared state on the request path. The kernel spreads connections over the
workers unevenly at low traffic, so a caller may be refused slightly before the declared rate
(never admitted much beyond it); a limit is a guard rail for runaway callers, and budgets
(:mod:`andon.gateway.metering`) are the exact, store-backed bound on spend.
"""

from __future__ import annotations

import math
import time

from andon.gateway.problems import GatewayProblem
from andon.serve.spec import EndpointSpec, RateLimit

MAX_BUCKETS = 50_000


class Buckets:
    """One worker's buckets, keyed by endpoint, scope and who."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)
        self._buckets: dict[tuple[str, str, str], list[float]] = {}

    def admit(self, spec: EndpointSpec, principal: str, team: str) -> None:
        """Take one token from each of the endpoint's buckets this request counts against;
        :class:`GatewayProblem` 429 (with ``Retry-After``) when one is empty, taking none."""
        if not spec.rate_limits:
            return
        now = time.monotonic()
        taken: list[list[float]] = []
        for limit in spec.rate_limits:
            who = principal if limit.scope == "principal" else team
            bucket = self._bucket(spec.name, limit, who, now)
            if bucket[0] < 1.0:
                for b in taken:  # all or nothing
                    b[0] += 1.0
                rate = limit.per_second() / self.workers
                wait = math.ceil((1.0 - bucket[0]) / rate) if rate > 0 else 60
                raise GatewayProblem(
                    429,
                    "rate-limited",
                    "rate limited",
                    f"{limit.scope} '{who}' is over the {limit.rate}/"
                    f"{_unit(limit.per_ms)} limit of endpoint '{spec.name}'",
                    headers={"retry-after": str(max(1, wait))},
                    limit={
                        "scope": limit.scope,
                        "key": who,
                        "rate": limit.rate,
                        "per": _unit(limit.per_ms),
                        "burst": limit.burst,
                    },
                )
            bucket[0] -= 1.0
            taken.append(bucket)

    def _bucket(self, endpoint: str, limit: RateLimit, who: str, now: float) -> list[float]:
        key = (endpoint, limit.scope, who)
        share = limit.per_second() / self.workers
        cap = max(1.0, limit.burst / self.workers)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget(now)
            bucket = self._buckets[key] = [cap, now]
        else:
            bucket[0] = min(cap, bucket[0] + (now - bucket[1]) * share)
            bucket[1] = now
        return bucket

    def _forget(self, now: float) -> None:
        """Drop buckets idle for a minute (a full bucket is the same as no bucket)."""
        for key in [k for k, b in self._buckets.items() if now - b[1] > 60]:
            del self._buckets[key]
        if len(self._buckets) >= MAX_BUCKETS:
            self._buckets.clear()


def _unit(per_ms: int) -> str:
    return {1000: "s", 60_000: "m", 3_600_000: "h"}.get(per_ms, f"{per_ms}ms")
