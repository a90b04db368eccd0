"""Bounded in-flight requests and queue per endpoint and worker: past the bound, refuse at
once (503 with ``Retry-After``) instead of letting callers wait behind a backlog."""

from __future__ import annotations

import asyncio
from types import TracebackType

from andon.gateway.problems import GatewayProblem
from andon.serve.spec import Limits


class Gate:
    """At most ``max_in_flight`` requests served and ``max_queue`` waiting."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name, self.limits = name, limits
        self._slots = asyncio.Semaphore(limits.max_in_flight)
        self.in_flight = 0
        self.waiting = 0

    async def __aenter__(self) -> Gate:
        if self._slots.locked():
            if self.waiting >= self.limits.max_queue:
                raise GatewayProblem(
                    503,
                    "overloaded",
                    "overloaded",
                    f"endpoint '{self.name}' has {self.in_flight} requests in flight and "
                    f"{self.waiting} waiting on this worker (limits {self.limits.max_in_flight} "
                    f"and {self.limits.max_queue}); retry shortly",
                    headers={"retry-after": "1"},
                )
            self.waiting += 1
            try:
                await self._slots.acquire()
            finally:
                self.waiting -= 1
        else:
            await self._slots.acquire()
        self.in_flight += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.in_flight -= 1
        self._slots.release()


class Gates:
    """One gate per endpoint, replaced when its limits change."""

    def __init__(self) -> None:
        self._gates: dict[str, Gate] = {}

    def of(self, name: str, limits: Limits) -> Gate:
        """The gate of endpoint ``name`` with these limits."""
        gate = self._gates.get(name)
        if gate is None or gate.limits != limits:
            gate = self._gates[name] = Gate(name, limits)
        return gate

    def all(self) -> list[Gate]:
        """Every gate, for the metrics."""
        return list(self._gates.values())
