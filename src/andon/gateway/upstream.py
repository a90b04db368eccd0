"""Calls to an endpoint's upstreams: a pooled aiohttp client, capped retries with exponential
backoff and full jitter, the fallback chain, a circuit breaker per upstream.

An attempt fails on a connection error or reset, a timeout, a 5xx or a body that is not JSON;
it is retried on the same upstream at most ``retries`` times, then the next upstream of the
chain is tried. A 4xx is the caller's problem: it is returned as the upstream sent it, never
retried. An upstream (server and model) that failed ``BREAKER_FAILURES`` times in a row is skipped for
``BREAKER_OPEN_S`` seconds, then one request tries it again (half-open).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from andon.gateway.problems import GatewayProblem
from andon.serve.spec import EndpointSpec, Upstream

BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 2.0
BREAKER_FAILURES = 5
BREAKER_OPEN_S = 10.0
_PASSED_HEADERS = ("content-type", "openai-processing-ms", "x-request-id")


@dataclass
class Breaker:
    """Consecutive failures of one upstream and until when it is skipped."""

    failures: int = 0
    open_until: float = 0.0

    def allows(self, now: float) -> bool:
        """Closed, or open long enough to try once more."""
        return self.failures < BREAKER_FAILURES or now >= self.open_until

    def record(self, ok: bool, now: float) -> None:
        """Count one attempt's outcome."""
        if ok:
            self.failures = 0
            return
        self.failures += 1
        if self.failures >= BREAKER_FAILURES:
            self.open_until = now + BREAKER_OPEN_S


@dataclass
class Outcome:
    """What an upstream answered, and what it took."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    response: aiohttp.ClientResponse | None = None
    """An open streaming response (the caller reads it, then releases it)."""
    upstream: str = ""
    attempts: int = 0
    retries: int = 0


@dataclass
class _Failure:
    timeout: bool
    detail: str


@dataclass
class Upstreams:
    """One worker's client pool and breakers."""

    session: aiohttp.ClientSession | None = None
    breakers: dict[tuple[str, str | None], Breaker] = field(default_factory=dict)

    async def open(self) -> None:
        """Create the pool (inside the worker's event loop)."""
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def close(self) -> None:
        """Close the pool."""
        if self.session is not None:
            await self.session.close()

    async def call(
        self, spec: EndpointSpec, path: str, payload: dict[str, Any], *, stream: bool
    ) -> Outcome:
        """Send ``payload`` to ``path`` of the first upstream that answers.

        ``payload["model"]`` is replaced by each upstream's own model name. A streaming call
        returns the open response once its status is 200 (retries happen before that only).
        Raises :class:`GatewayProblem` 502 or 504 when every attempt failed, 503 when every
        upstream's breaker is open.
        """
        assert self.session is not None, "Upstreams.open() first"
        attempts = retries = 0
        failures: list[_Failure] = []
        now = time.monotonic()
        chain = [u for u in spec.upstreams if self._breaker(u).allows(now)]
        if not chain:
            raise GatewayProblem(
                503,
                "upstream-unavailable",
                "upstream unavailable",
                f"every upstream of endpoint '{spec.name}' failed repeatedly; trying again in "
                f"{BREAKER_OPEN_S:.0f} s",
                headers={"retry-after": str(int(BREAKER_OPEN_S))},
            )
        timeout = aiohttp.ClientTimeout(
            total=None if stream else spec.timeout_ms / 1000,
            sock_connect=spec.timeout_ms / 1000,
            sock_read=spec.timeout_ms / 1000,
        )
        for upstream in chain:
            body = json.dumps({**payload, "model": upstream.model or spec.name}).encode()
            headers = {"content-type": "application/json"}
            key = os.environ.get(upstream.api_key_env) if upstream.api_key_env else None
            if key:
                headers["authorization"] = f"Bearer {key}"
            for attempt in range(spec.retries + 1):
                if attempt:
                    retries += 1
                    await asyncio.sleep(
                        random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))  # noqa: S311
                    )
                attempts += 1
                result = await self._attempt(upstream, path, body, headers, timeout, stream)
                self._breaker(upstream).record(not isinstance(result, _Failure), time.monotonic())
                if isinstance(result, _Failure):
                    failures.append(result)
                    continue
                result.upstream, result.attempts, result.retries = (
                    _host(upstream),
                    attempts,
                    retries,
                )
                return result
        last = failures[-1]
        status = 504 if last.timeout else 502
        raise GatewayProblem(
            status,
            "upstream-timeout" if last.timeout else "bad-upstream",
            "upstream timed out" if last.timeout else "bad upstream response",
            f"endpoint '{spec.name}': {attempts} attempt(s) on {len(chain)} upstream(s) failed; "
            f"last: {last.detail}",
            attempts=attempts,
            retries=retries,
        )

    def _breaker(self, upstream: Upstream) -> Breaker:
        # Per server and model: one model failing on a server does not stop its others.
        return self.breakers.setdefault((upstream.url, upstream.model), Breaker())

    async def _attempt(
        self,
        upstream: Upstream,
        path: str,
        body: bytes,
        headers: dict[str, str],
        timeout: aiohttp.ClientTimeout,
        stream: bool,
    ) -> Outcome | _Failure:
        assert self.session is not None
        where = _host(upstream)
        try:
            response = await self.session.post(
                upstream.url.rstrip("/") + path, data=body, headers=headers, timeout=timeout
            )
        except TimeoutError:
            return _Failure(True, f"{where} did not answer within the timeout")
        except aiohttp.ClientError as exc:
            return _Failure(False, f"{where}: {type(exc).__name__}")
        passed = {k: response.headers[k] for k in _PASSED_HEADERS if k in response.headers}
        if stream and response.status == 200:
            return Outcome(200, passed, response=response)
        try:
            data = await response.read()
        except TimeoutError:
            response.release()
            return _Failure(True, f"{where} stopped sending within the timeout")
        except aiohttp.ClientError as exc:
            return _Failure(False, f"{where}: {type(exc).__name__} while reading")
        if response.status >= 500:
            return _Failure(False, f"{where} answered {response.status}")
        if response.status in (401, 403):
            # The gateway's own credentials were refused: the operator's problem, not the
            # caller's, so it must not read as the caller's token being wrong.
            key = f"the key in {upstream.api_key_env}" if upstream.api_key_env else "no key"
            raise GatewayProblem(
                502,
                "bad-upstream",
                "bad upstream response",
                f"{where} refused the gateway ({response.status}): it was sent {key}",
            )
        try:
            json.loads(data)
        except ValueError:
            if response.status < 400:
                return _Failure(False, f"{where} answered a body that is not JSON")
        return Outcome(response.status, passed, body=data)


def _host(upstream: Upstream) -> str:
    """Where an upstream is, without any credentials or path."""
    parts = urlsplit(upstream.url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
