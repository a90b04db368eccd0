"""Budgets on the request path: hold the worst case before the upstream call, charge what
was used after it, free it when nothing was served (:mod:`andon.serve.budgets`).

The ledger calls are short database transactions, run off the event loop. An endpoint
without budgets costs nothing here. Streams are charged as they flow: once the output passes
what is held, each further step must be reserved first, and a stream the budget cannot cover
is ended with an error event, so a long stream cannot run past its budget.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from andon.core.clock import Clock
from andon.core.context import Context, Database
from andon.serve import budgets
from andon.serve.budgets import Reservation
from andon.serve.records import Snapshot
from andon.serve.spec import EndpointSpec

T = TypeVar("T")
RENEW_S = budgets.DEFAULT_LEASE_S / 3


def charged_team(ctx: Context, snap: Snapshot, spec: EndpointSpec) -> str:
    """The team a request is charged to: the caller's team when a team binding lets it
    invoke the endpoint, else the endpoint's own team."""
    names = {team_id: name for name, team_id in snap.team_ids.items()}
    for grant in ctx.grants:
        if grant.scope == "team" and grant.scope_id in names:
            from andon.core.permissions import PERMISSIONS

            if "endpoint.invoke" in PERMISSIONS.get(grant.role, ()):
                return names[grant.scope_id]
    return spec.team


class Meter:
    """One worker's access to the ledger."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    async def _off(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    async def reserve(
        self, spec: EndpointSpec, ctx: Context, team: str, payload: dict[str, Any]
    ) -> Reservation | None:
        """Hold the worst case of this request (:class:`BudgetExceeded` when it does not fit);
        None when the endpoint has no budgets."""
        if not spec.budgets:
            return None
        return await self._off(
            partial(
                budgets.reserve,
                self.db,
                self.clock,
                endpoint=spec.name,
                team=team,
                principal=ctx.principal.name,
                budgets=spec.budgets,
                amount_nanos=budgets.estimate(spec, payload),
            )
        )

    async def settle(self, reservation: Reservation | None, nanos: int) -> int:
        """Charge a served request; returns what was charged."""
        if reservation is None:
            return 0
        return await self._off(partial(budgets.settle, self.db, self.clock, reservation, nanos))

    async def release(self, reservation: Reservation | None) -> None:
        """Free a reservation: the request was not served."""
        if reservation is not None:
            await self._off(partial(budgets.release, self.db, reservation))

    async def extend(self, reservation: Reservation, nanos: int) -> bool:
        """Hold ``nanos`` more (0: renew the lease only)."""
        return await self._off(partial(budgets.extend, self.db, self.clock, reservation, nanos))


def usage_of(body: bytes) -> dict[str, Any] | None:
    """The ``usage`` of a JSON response body, if it has one."""
    try:
        usage = json.loads(body).get("usage")
    except (ValueError, AttributeError):
        return None
    return usage if isinstance(usage, dict) else None


class StreamTally:
    """What a flowing stream has used so far, from its server-sent events."""

    def __init__(self, spec: EndpointSpec, payload: dict[str, Any], held: int) -> None:
        self.spec = spec
        self.base = budgets.estimate(spec, {**payload, "max_tokens": 0})
        self.chars = 0
        self.usage: dict[str, Any] | None = None
        self.held = held
        self.renewed = time.monotonic()
        self._rest = b""

    def events(self, chunk: bytes) -> list[bytes]:
        """The complete events in ``chunk`` (with any partial one left before it), each
        counted; a partial event at the end waits for the next chunk."""
        data = self._rest + chunk
        parts = data.split(b"\n\n")
        self._rest = parts.pop()
        out = []
        for part in parts:
            self._count(part)
            out.append(part + b"\n\n")
        return out

    def flush(self) -> bytes:
        """What is left of a stream that did not end with a blank line."""
        rest, self._rest = self._rest, b""
        self._count(rest)
        return rest

    def _count(self, event_text: bytes) -> None:
        for line in event_text.split(b"\n"):
            if not line.startswith(b"data:") or line.strip() == b"data: [DONE]":
                continue
            try:
                event = json.loads(line[5:])
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            if isinstance(event.get("usage"), dict):
                self.usage = event["usage"]
            for choice in event.get("choices") or ():
                delta = choice.get("delta") or {} if isinstance(choice, dict) else {}
                content = delta.get("content")
                if isinstance(content, str):
                    self.chars += len(content)

    def used(self) -> int:
        """Nanodollars used so far: the upstream's usage when it sent one, else an estimate
        (4 characters a token)."""
        if self.usage is not None:
            return budgets.cost_of(self.spec, self.usage)
        return self.base + math.ceil(self.chars / 4) * self.spec.cost.per_output_token
