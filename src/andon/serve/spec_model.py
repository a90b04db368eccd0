"""The checked endpoint as plain data: what the store keeps and every gateway worker reads
(:func:`andon.serve.spec.parse_endpoint` builds it from YAML)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

KINDS = ("llm", "model")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
SCOPES = ("endpoint", "team", "principal")
PERIODS = ("day", "month")
NANOS = 1_000_000_000
"""Nanodollars per US dollar."""
DEFAULT_MAX_OUTPUT_TOKENS = 4096
MAX_PRICE = 1000 * NANOS
MAX_LIMIT = 10**9 * NANOS
RATE_SCOPES = ("principal", "team")
DEFAULT_TIMEOUT_MS = 30_000
DEFAULT_RETRIES = 2
MAX_RETRIES = 10
DEFAULT_LIMITS = {"max_in_flight": 64, "max_queue": 64, "max_body": 1024 * 1024}
MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Upstream:
    """One OpenAI-compatible server an ``llm`` endpoint forwards to."""

    url: str
    """Base URL up to and including the API prefix, e.g. ``http://127.0.0.1:8001/v1``."""
    model: str | None
    """The model name sent upstream; None keeps the endpoint's name."""
    api_key_env: str | None
    """The environment variable holding the upstream's API key (read by each worker)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Load bounds of one endpoint, per worker process."""

    max_in_flight: int
    max_queue: int
    max_body: int


@dataclass(frozen=True, slots=True)
class Cost:
    """What one request costs, in nanodollars (integers: no float ever reaches a ledger)."""

    per_request: int = 0
    per_input_token: int = 0
    per_output_token: int = 0
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    """The output tokens reserved for a request that sets no ``max_tokens``."""

    def as_dict(self) -> dict[str, int]:
        """JSON-ready form (nanodollars)."""
        return {
            "per_request": self.per_request,
            "per_input_token": self.per_input_token,
            "per_output_token": self.per_output_token,
            "max_output_tokens": self.max_output_tokens,
        }


@dataclass(frozen=True, slots=True)
class Budget:
    """A spending limit: for ``scope`` (endpoint, team or principal) per UTC ``period``."""

    scope: str
    period: str
    limit_nanos: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (nanodollars)."""
        return {"scope": self.scope, "period": self.period, "limit_nanos": self.limit_nanos}


@dataclass(frozen=True, slots=True)
class Canary:
    """Part of a model endpoint's callers served by another alias."""

    alias: str
    percent: int
    """0-100: callers whose key hashes below it get the canary."""


@dataclass(frozen=True, slots=True)
class Shadow:
    """An alias every request also runs on, off the request path; never answered."""

    alias: str


@dataclass(frozen=True, slots=True)
class Trip:
    """The jidoka rule of a guard: ``violations`` within ``window_ms`` pull the cord."""

    violations: int
    window_ms: int


@dataclass(frozen=True, slots=True)
class Guards:
    """What an endpoint's answers must not hold, and what a violation does."""

    pii: tuple[str, ...] = ()
    """Detector names (:data:`andon.data.detect.DETECTORS`)."""
    deny: tuple[str, ...] = ()
    """Regular expressions (Python syntax), checked to compile."""
    json_schema: dict[str, Any] | None = None
    max_chars: int | None = None
    on_violation: str = "refuse"
    """``refuse`` (a 422 problem) or ``fallback`` (the endpoint's declared fallback)."""
    trip: Trip | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (what is stored)."""
        return {
            "pii": list(self.pii),
            "deny": list(self.deny),
            "json_schema": self.json_schema,
            "max_chars": self.max_chars,
            "on_violation": self.on_violation,
            "trip": None
            if self.trip is None
            else {"violations": self.trip.violations, "window_ms": self.trip.window_ms},
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Guards:
        """Guards as stored by :meth:`as_dict`."""
        trip = raw.get("trip")
        return cls(
            pii=tuple(raw.get("pii", ())),
            deny=tuple(raw.get("deny", ())),
            json_schema=raw.get("json_schema"),
            max_chars=raw.get("max_chars"),
            on_violation=raw.get("on_violation", "refuse"),
            trip=None if trip is None else Trip(int(trip["violations"]), int(trip["window_ms"])),
        )


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket: ``rate`` requests per ``per_ms``, up to ``burst`` at once."""

    scope: str
    """``principal`` (each caller) or ``team`` (the team charged)."""
    rate: int
    per_ms: int
    burst: int

    def per_second(self) -> float:
        """Tokens added per second."""
        return self.rate * 1000 / self.per_ms


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """One endpoint, checked."""

    name: str
    team: str
    kind: str
    description: str = ""
    upstreams: tuple[Upstream, ...] = ()
    model: str | None = None
    alias: str | None = None
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    retries: int = DEFAULT_RETRIES
    limits: Limits = field(default_factory=lambda: Limits(**DEFAULT_LIMITS))
    fallback: dict[str, Any] | None = None
    """The safe answer a stopped endpoint gives: ``{"content": ...}`` for ``llm``, the
    prediction body for ``model``; None answers 503."""
    cost: Cost = field(default_factory=Cost)
    budgets: tuple[Budget, ...] = ()
    canary: Canary | None = None
    shadow: Shadow | None = None
    guards: Guards | None = None
    rate_limits: tuple[RateLimit, ...] = ()
    slo_p95_ms: int | None = None
    """The latency objective: 95 % of requests answered within this (monitored, not enforced)."""
    log_prompts: bool = False
    """Keep prompts and answers on the request's span, personal data masked (off by default)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (what is stored)."""
        return {
            "name": self.name,
            "team": self.team,
            "kind": self.kind,
            "description": self.description,
            "upstreams": [
                {"url": u.url, "model": u.model, "api_key_env": u.api_key_env}
                for u in self.upstreams
            ],
            "model": self.model,
            "alias": self.alias,
            "timeout_ms": self.timeout_ms,
            "retries": self.retries,
            "limits": {
                "max_in_flight": self.limits.max_in_flight,
                "max_queue": self.limits.max_queue,
                "max_body": self.limits.max_body,
            },
            "fallback": self.fallback,
            "cost": self.cost.as_dict(),
            "budgets": [b.as_dict() for b in self.budgets],
            "canary": (
                None
                if self.canary is None
                else {"alias": self.canary.alias, "percent": self.canary.percent}
            ),
            "shadow": None if self.shadow is None else {"alias": self.shadow.alias},
            "guards": None if self.guards is None else self.guards.as_dict(),
            "rate_limits": [
                {"scope": r.scope, "rate": r.rate, "per_ms": r.per_ms, "burst": r.burst}
                for r in self.rate_limits
            ],
            "slo_p95_ms": self.slo_p95_ms,
            "log_prompts": self.log_prompts,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> EndpointSpec:
        """An endpoint as stored by :meth:`as_dict`."""
        return cls(
            name=raw["name"],
            team=raw["team"],
            kind=raw["kind"],
            description=raw.get("description", ""),
            upstreams=tuple(Upstream(**u) for u in raw.get("upstreams", [])),
            model=raw.get("model"),
            alias=raw.get("alias"),
            timeout_ms=int(raw["timeout_ms"]),
            retries=int(raw["retries"]),
            limits=Limits(**raw["limits"]),
            fallback=raw.get("fallback"),
            cost=Cost(**raw["cost"]) if raw.get("cost") else Cost(),
            budgets=tuple(Budget(**b) for b in raw.get("budgets", [])),
            canary=Canary(**raw["canary"]) if raw.get("canary") else None,
            shadow=Shadow(**raw["shadow"]) if raw.get("shadow") else None,
            guards=Guards.from_dict(raw["guards"]) if raw.get("guards") else None,
            rate_limits=tuple(RateLimit(**r) for r in raw.get("rate_limits", [])),
            slo_p95_ms=raw.get("slo_p95_ms"),
            log_prompts=bool(raw.get("log_prompts", False)),
        )
