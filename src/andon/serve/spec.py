"""Gateway endpoints as written (YAML) and as stored (a checked, plain-data spec).

An endpoint is owned by a team and serves one kind of traffic: ``llm`` proxies the OpenAI
protocol to a chain of upstreams (tried in order: the fallback chain); ``model`` serves the
registry model version a stage alias points to::

    name: support-bot               # unique on the gateway; the `model` an OpenAI client sends
    team: support
    kind: llm
    description: Answers customer questions.
    upstreams:                      # tried in order when one fails (after its retries)
      - url: http://127.0.0.1:8001/v1
        model: llama-3.1-8b         # the model name sent upstream (default: the endpoint's name)
        api_key_env: SUPPORT_LLM_KEY  # the environment variable holding the key (never stored)
    timeout: 30s                    # per attempt: ms, s or m
    retries: 2                      # at most 2 more attempts per upstream, never on a 4xx
    limits:
      max_in_flight: 64             # requests served at once by one worker
      max_queue: 64                 # waiting beyond that; past it, 503 with Retry-After
      max_body: 1MB                 # B, KB, MB
    fallback:                       # what a stopped endpoint answers instead of a 503
      content: The assistant is paused; a person will reply shortly.
    cost:                           # USD, as numbers or decimal strings (at most 9 decimals)
      per_request: 0.0001
      per_input_token: 0.0000005
      per_output_token: 0.0000015
      max_output_tokens: 4096       # the worst case reserved when a request sets no max_tokens
    budgets:                        # never overspent (docs/budgets.md)
      - {scope: endpoint, period: day, limit: 5.00}     # all traffic of this endpoint
      - {scope: team, period: month, limit: 100}        # the team charged, on this endpoint
      - {scope: principal, period: day, limit: 0.50}    # each caller, on this endpoint

    name: fraud-scorer
    team: fraud-ml
    kind: model
    model: fraud-detector
    alias: champion                 # default champion
    canary: {alias: challenger, percent: 10}   # optional: 10 % of callers get the challenger
    shadow: {alias: candidate}      # optional: every request also runs here, never answered
    fallback:
      prediction: 0
    cost: {per_request: 0.00002}    # a model endpoint has only per_request
    guards: {max_chars: 2000, deny: ["(?i)internal"]}  # a model endpoint: size and deny only

An ``llm`` endpoint may hold its answers to output guards (docs/guards.md); a violating
answer is never returned::

    guards:
      pii: [email, card_number, phone]  # andon.data.detect.DETECTORS (the classifier's formats)
      deny: ["(?i)internal use only", "BEGIN PRIVATE KEY"]  # regular expressions
      json_schema: {type: object, required: [answer]}  # the content must be JSON and valid
      max_chars: 4000                   # the most characters of answer text
      on_violation: refuse              # refuse (422, the default) or fallback (needs fallback:)
      trip: {violations: 5, window: 60s}  # that many within the window pull the endpoint's cord

A model endpoint may split its traffic (docs/canary.md). ``canary`` sends ``percent`` (a whole
number from 0 to 100) of callers to another alias, sticky per caller: the caller key (the
``X-Andon-Caller-Key`` header, else the principal's name) hashed with the endpoint's name
decides, so one caller always gets the same variant. ``shadow`` runs every request on one more
alias after the answer went out and records how it did and whether it agreed; its answer is
never returned. Neither may name the endpoint's own ``alias``; both have only the keys shown.

Money is stored as integer nanodollars (1 USD = 10^9): ``Cost`` and ``Budget`` hold no floats.
:func:`parse_endpoint` reports every problem at once, each naming its path
(``upstreams[0].url: ...``), and refuses keys it does not know: nothing written is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from andon.core.errors import Invalid
from andon.core.yaml_limits import load_bounded

KINDS = ("llm", "model")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_MILLIS = re.compile(r"^(\d{1,9})\s*(ms|s|m|h)$")
_BYTES = re.compile(r"^(\d{1,12})\s*(B|KB|MB)$")
_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
_SIZE = {"B": 1, "KB": 1024, "MB": 1024 * 1024}
_TOP = {
    "name",
    "team",
    "kind",
    "description",
    "upstreams",
    "model",
    "alias",
    "timeout",
    "retries",
    "limits",
    "fallback",
    "cost",
    "budgets",
    "canary",
    "shadow",
    "guards",
}
_CANARY = {"alias", "percent"}
_SHADOW = {"alias"}
_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")
_COST = {"per_request", "per_input_token", "per_output_token", "max_output_tokens"}
_BUDGET = {"scope", "period", "limit"}
SCOPES = ("endpoint", "team", "principal")
PERIODS = ("day", "month")
NANOS = 1_000_000_000
"""Nanodollars per US dollar."""
DEFAULT_MAX_OUTPUT_TOKENS = 4096
MAX_PRICE = 1000 * NANOS
MAX_LIMIT = 10**9 * NANOS
_UPSTREAM = {"url", "model", "api_key_env"}
_LIMITS = {"max_in_flight", "max_queue", "max_body"}
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
        )


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append(f"{path}: {reason}")


def parse_endpoint(text: str, *, source: str = "endpoint") -> EndpointSpec:
    """Parse and check an endpoint YAML document; :class:`Invalid` lists every problem."""
    import yaml  # type: ignore[import-untyped]

    try:
        raw = load_bounded(text, source=source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise Invalid(f"{source} is not valid YAML{where}", field="endpoint") from None
    if not isinstance(raw, dict):
        raise Invalid(f"{source} must be a mapping with name, team and kind", field="endpoint")
    problems = _Problems()
    spec = _endpoint(raw, problems)
    if problems.items or spec is None:
        count = len(problems.items)
        raise Invalid(
            f"{source} is not a valid endpoint ({count} "
            f"{'problem' if count == 1 else 'problems'}):\n  " + "\n  ".join(problems.items),
            field="endpoint",
            errors=problems.items,
        )
    return spec


def _endpoint(raw: dict[str, Any], problems: _Problems) -> EndpointSpec | None:
    for key in sorted(set(map(str, raw)) - _TOP):
        problems.add(key, f"is not a key of an endpoint (keys: {', '.join(sorted(_TOP))})")
    name = _name(raw.get("name"), "name", problems)
    team = _name(raw.get("team"), "team", problems)
    kind = raw.get("kind")
    if kind not in KINDS:
        problems.add("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.add("description", "must be text")
        description = ""
    upstreams = _upstreams(raw.get("upstreams"), kind, problems)
    model, alias = _model(raw, kind, problems)
    timeout = _millis(raw.get("timeout", f"{DEFAULT_TIMEOUT_MS}ms"), "timeout", problems)
    retries = raw.get("retries", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        problems.add("retries", f"must be a whole number from 0 to {MAX_RETRIES}")
        retries = DEFAULT_RETRIES
    limits = _limits(raw.get("limits"), problems)
    fallback = _fallback(raw.get("fallback"), kind, problems)
    cost = _cost(raw.get("cost"), kind, problems)
    budgets = _budgets(raw.get("budgets"), problems)
    canary, shadow = _variants(raw, kind, alias, problems)
    guards = _guards(raw.get("guards"), kind, fallback is not None, problems)
    if problems.items or name is None or team is None or kind not in KINDS:
        return None
    return EndpointSpec(
        name=name,
        team=team,
        kind=str(kind),
        description=description.strip(),
        upstreams=upstreams,
        model=model,
        alias=alias,
        timeout_ms=timeout or DEFAULT_TIMEOUT_MS,
        retries=retries,
        limits=limits,
        fallback=fallback,
        cost=cost,
        budgets=budgets,
        canary=canary,
        shadow=shadow,
        guards=guards,
    )


def _name(value: Any, path: str, problems: _Problems) -> str | None:
    if value is None:
        problems.add(path, "is required")
        return None
    if not isinstance(value, str) or not NAME.match(value):
        problems.add(path, f"{value!r} is not a name (a-z 0-9 . _ -, at most 100)")
        return None
    return value


def _upstreams(raw: Any, kind: Any, problems: _Problems) -> tuple[Upstream, ...]:
    if kind != "llm":
        if raw is not None:
            problems.add("upstreams", "only an llm endpoint has upstreams")
        return ()
    if not isinstance(raw, list) or not raw:
        problems.add("upstreams", "an llm endpoint needs a list of at least one upstream")
        return ()
    found = []
    for i, item in enumerate(raw):
        path = f"upstreams[{i}]"
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict):
            problems.add(path, "must be a URL or a mapping with url, model, api_key_env")
            continue
        for key in sorted(set(map(str, item)) - _UPSTREAM):
            problems.add(
                f"{path}.{key}", f"is not a key of an upstream ({', '.join(sorted(_UPSTREAM))})"
            )
        url = _url(item.get("url"), f"{path}.url", problems)
        model = item.get("model")
        if model is not None and (not isinstance(model, str) or not model.strip()):
            problems.add(f"{path}.model", "must be a model name")
            model = None
        env = item.get("api_key_env")
        if env is not None and (not isinstance(env, str) or not _ENV.match(env)):
            problems.add(
                f"{path}.api_key_env", "must name an environment variable, such as LLM_API_KEY"
            )
            env = None
        if url is not None:
            found.append(Upstream(url, model, env))
    return tuple(found)


def _url(value: Any, path: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.add(path, "is required: the upstream's base URL, such as http://127.0.0.1:8001/v1")
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.add(path, f"{value!r} is not an http or https URL")
        return None
    if parts.username or parts.password:
        # Never echo the value: it holds a credential.
        problems.add(path, "must not hold credentials; name them with api_key_env")
        return None
    if parts.query or parts.fragment:
        problems.add(path, "must be a base URL without a query or fragment")
        return None
    return value.strip().rstrip("/")


def _model(raw: dict[str, Any], kind: Any, problems: _Problems) -> tuple[str | None, str | None]:
    model, alias = raw.get("model"), raw.get("alias")
    if kind != "model":
        for key in ("model", "alias"):
            if raw.get(key) is not None:
                problems.add(key, "only a model endpoint names a registry model")
        return None, None
    if model is None:
        problems.add("model", "is required: the registry model this endpoint serves")
    elif not isinstance(model, str) or not NAME.match(model):
        problems.add("model", f"{model!r} is not a model name")
        model = None
    if alias is None:
        alias = "champion"
    elif not isinstance(alias, str) or not _ALIAS.match(alias):
        problems.add("alias", f"{alias!r} is not an alias name")
        alias = None
    return model, alias


def _variants(
    raw: dict[str, Any], kind: Any, primary: str | None, problems: _Problems
) -> tuple[Canary | None, Shadow | None]:
    found: dict[str, Any] = {}
    for key, allowed in (("canary", _CANARY), ("shadow", _SHADOW)):
        item = raw.get(key)
        if item is None:
            continue
        if kind != "model":
            problems.add(key, "only a model endpoint has a canary or a shadow")
            continue
        keys = ", ".join(sorted(allowed))
        if not isinstance(item, dict):
            problems.add(key, f"must be a mapping with {keys}")
            continue
        for extra in sorted(set(map(str, item)) - allowed):
            problems.add(f"{key}.{extra}", f"is not a key of {key} ({keys})")
        alias = item.get("alias")
        ok = True
        if alias is None:
            problems.add(f"{key}.alias", f"is required: the alias the {key} serves")
            ok = False
        elif not isinstance(alias, str) or not _ALIAS.match(alias):
            problems.add(f"{key}.alias", f"{alias!r} is not an alias name")
            ok = False
        elif alias == primary:
            problems.add(
                f"{key}.alias", f"must differ from alias '{primary}' (what the endpoint serves)"
            )
            ok = False
        if key == "canary":
            percent = item.get("percent")
            if percent is None:
                problems.add("canary.percent", "is required: the share of callers, 0 to 100")
                ok = False
            elif (
                isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100
            ):
                problems.add("canary.percent", f"{percent!r} is not a whole number from 0 to 100")
                ok = False
            if ok and isinstance(percent, int):
                found[key] = Canary(str(alias), percent)
        elif ok:
            found[key] = Shadow(str(alias))
    return found.get("canary"), found.get("shadow")


def _millis(
    value: Any, path: str, problems: _Problems, *, most: int = 3_600_000, words: str = "60m"
) -> int | None:
    match = _MILLIS.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        problems.add(path, f"{value!r} is not a duration such as 500ms, 30s or 2m")
        return None
    millis = int(match.group(1)) * _MS[match.group(2)]
    if not 1 <= millis <= most:
        problems.add(path, f"must be from 1ms to {words}")
        return None
    return millis


def _limits(raw: Any, problems: _Problems) -> Limits:
    values = dict(DEFAULT_LIMITS)
    if raw is None:
        return Limits(**values)
    if not isinstance(raw, dict):
        problems.add("limits", f"must be a mapping with {', '.join(sorted(_LIMITS))}")
        return Limits(**values)
    for key in sorted(set(map(str, raw)) - _LIMITS):
        problems.add(f"limits.{key}", f"is not a limit ({', '.join(sorted(_LIMITS))})")
    for key in ("max_in_flight", "max_queue"):
        if key in raw:
            value = raw[key]
            low = 1 if key == "max_in_flight" else 0
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 100_000:
                problems.add(f"limits.{key}", f"must be a whole number from {low} to 100000")
            else:
                values[key] = value
    if "max_body" in raw:
        size = _size(raw["max_body"], "limits.max_body", problems)
        if size is not None:
            values["max_body"] = size
    return Limits(**values)


def _size(value: Any, path: str, problems: _Problems) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value}B"
    match = _BYTES.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        problems.add(path, f"{value!r} is not a size such as 512KB or 1MB")
        return None
    size = int(match.group(1)) * _SIZE[match.group(2)]
    if not 1024 <= size <= MAX_BODY:
        problems.add(path, "must be from 1KB to 64MB")
        return None
    return size


def _fallback(raw: Any, kind: Any, problems: _Problems) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        problems.add("fallback", "must be a mapping: the answer a stopped endpoint gives")
        return None
    if kind == "llm":
        extra = sorted(set(map(str, raw)) - {"content"})
        for key in extra:
            problems.add(f"fallback.{key}", "an llm fallback has only content")
        if not isinstance(raw.get("content"), str) or not raw["content"].strip():
            problems.add("fallback.content", "is required: the text a stopped endpoint answers")
            return None
        return {"content": raw["content"].strip()}
    return {str(key): value for key, value in raw.items()}


def _nanos(value: Any, path: str, problems: _Problems, *, most: int) -> int | None:
    """A USD amount (number or decimal text) as integer nanodollars, exactly."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.add(path, f"{value!r} is not an amount in USD, such as 0.0005 or '0.0005'")
        return None
    try:
        # str() of a float is its shortest round-tripping text: 0.1 -> '0.1', not 0.1000000000000000055
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        problems.add(path, f"{value!r} is not an amount in USD, such as 0.0005 or '0.0005'")
        return None
    if not amount.is_finite() or amount < 0:
        problems.add(path, "must be a finite amount of at least 0")
        return None
    nanos = amount * NANOS
    if nanos != nanos.to_integral_value():
        problems.add(path, f"{value} has more than 9 decimals (the ledger counts nanodollars)")
        return None
    if nanos > most:
        problems.add(path, f"must be at most {Decimal(most) / NANOS:f} USD")
        return None
    return int(nanos)


def _cost(raw: Any, kind: Any, problems: _Problems) -> Cost:
    if raw is None:
        return Cost()
    if not isinstance(raw, dict):
        problems.add("cost", f"must be a mapping with {', '.join(sorted(_COST))}")
        return Cost()
    for key in sorted(set(map(str, raw)) - _COST):
        problems.add(f"cost.{key}", f"is not a key of cost ({', '.join(sorted(_COST))})")
    values: dict[str, int] = {}
    for key in ("per_request", "per_input_token", "per_output_token"):
        if key not in raw:
            continue
        if kind == "model" and key != "per_request":
            problems.add(f"cost.{key}", "a model endpoint has only per_request (no tokens)")
            continue
        nanos = _nanos(raw[key], f"cost.{key}", problems, most=MAX_PRICE)
        if nanos is not None:
            values[key] = nanos
    if "max_output_tokens" in raw:
        cap = raw["max_output_tokens"]
        if kind == "model":
            problems.add("cost.max_output_tokens", "a model endpoint has only per_request")
        elif isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= 10_000_000:
            problems.add("cost.max_output_tokens", "must be a whole number from 1 to 10000000")
        else:
            values["max_output_tokens"] = cap
    return Cost(**values)


def _budgets(raw: Any, problems: _Problems) -> tuple[Budget, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add("budgets", "must be a list of {scope, period, limit}")
        return ()
    found: list[Budget] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(raw):
        path = f"budgets[{i}]"
        if not isinstance(item, dict):
            problems.add(path, "must be a mapping with scope, period and limit")
            continue
        for key in sorted(set(map(str, item)) - _BUDGET):
            problems.add(
                f"{path}.{key}", f"is not a key of a budget ({', '.join(sorted(_BUDGET))})"
            )
        scope, period = item.get("scope"), item.get("period")
        ok = True
        if scope not in SCOPES:
            problems.add(f"{path}.scope", f"must be one of {', '.join(SCOPES)}, not {scope!r}")
            ok = False
        if period not in PERIODS:
            problems.add(f"{path}.period", f"must be one of {', '.join(PERIODS)}, not {period!r}")
            ok = False
        if "limit" not in item:
            problems.add(f"{path}.limit", "is required: the most spent per period, in USD")
            limit = None
        else:
            limit = _nanos(item["limit"], f"{path}.limit", problems, most=MAX_LIMIT)
            if limit == 0:
                problems.add(f"{path}.limit", "must be more than 0 (pull the cord to stop traffic)")
                limit = None
        if ok and (scope, period) in seen:
            problems.add(path, f"repeats the {scope} budget per {period}")
            ok = False
        if ok and limit is not None:
            seen.add((str(scope), str(period)))
            found.append(Budget(str(scope), str(period), limit))
    return tuple(found)


_GUARDS = {"pii", "deny", "json_schema", "max_chars", "on_violation", "trip"}
_TRIP = {"violations", "window"}
ON_VIOLATION = ("refuse", "fallback")
MAX_CHARS = 10_000_000
MAX_PATTERN = 1000


def _guards(raw: Any, kind: Any, has_fallback: bool, problems: _Problems) -> Guards | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add("guards", f"must be a mapping with {', '.join(sorted(_GUARDS))}")
        return None
    for key in sorted(set(map(str, raw)) - _GUARDS):
        problems.add(f"guards.{key}", f"is not a key of guards ({', '.join(sorted(_GUARDS))})")
    if kind == "model":
        for key in ("pii", "json_schema"):
            if key in raw:
                problems.add(f"guards.{key}", "a model endpoint's guards are max_chars and deny")
    checks = {"pii", "deny", "json_schema", "max_chars"} & set(raw)
    if not checks:
        problems.add("guards", "names no check: give pii, deny, json_schema or max_chars")
    pii = _detectors(raw.get("pii"), problems) if kind != "model" else ()
    deny = _patterns(raw.get("deny"), problems)
    schema = _schema(raw.get("json_schema"), problems) if kind != "model" else None
    max_chars = raw.get("max_chars")
    if max_chars is not None and (
        isinstance(max_chars, bool) or not isinstance(max_chars, int)
        or not 1 <= max_chars <= MAX_CHARS
    ):  # fmt: skip
        problems.add("guards.max_chars", f"must be a whole number from 1 to {MAX_CHARS}")
        max_chars = None
    on_violation = raw.get("on_violation", "refuse")
    if on_violation not in ON_VIOLATION:
        problems.add(
            "guards.on_violation",
            f"must be one of {', '.join(ON_VIOLATION)}, not {on_violation!r}",
        )
        on_violation = "refuse"
    elif on_violation == "fallback" and not has_fallback:
        problems.add("guards.on_violation", "fallback needs the endpoint's fallback: declared")
    trip = _trip(raw.get("trip"), problems)
    return Guards(pii, deny, schema, max_chars, str(on_violation), trip)


def _detectors(raw: Any, problems: _Problems) -> tuple[str, ...]:
    from andon.data.detect import DETECTORS

    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        problems.add("guards.pii", f"must be a list of detectors ({', '.join(DETECTORS)})")
        return ()
    found: list[str] = []
    for i, item in enumerate(raw):
        if item not in DETECTORS:
            problems.add(f"guards.pii[{i}]", f"{item!r} is not a detector ({', '.join(DETECTORS)})")
        elif item in found:
            problems.add(f"guards.pii[{i}]", f"repeats {item}")
        else:
            found.append(str(item))
    return tuple(found)


def _patterns(raw: Any, problems: _Problems) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        problems.add("guards.deny", "must be a list of regular expressions")
        return ()
    found: list[str] = []
    for i, item in enumerate(raw):
        path = f"guards.deny[{i}]"
        if not isinstance(item, str) or not item:
            problems.add(path, "must be a regular expression (text)")
            continue
        if len(item) > MAX_PATTERN:
            problems.add(path, f"is longer than {MAX_PATTERN} characters")
            continue
        try:
            re.compile(item)
        except re.error as exc:
            problems.add(path, f"is not a regular expression: {exc}")
            continue
        found.append(item)
    return tuple(found)


def _schema(raw: Any, problems: _Problems) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add("guards.json_schema", "must be a JSON Schema (a mapping)")
        return None
    import jsonschema_rs

    try:
        jsonschema_rs.validator_for(raw)
    except (jsonschema_rs.ValidationError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        problems.add("guards.json_schema", f"is not a valid JSON Schema: {first}")
        return None
    return {str(k): v for k, v in raw.items()}


def _trip(raw: Any, problems: _Problems) -> Trip | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add("guards.trip", "must be a mapping with violations and window")
        return None
    for key in sorted(set(map(str, raw)) - _TRIP):
        problems.add(f"guards.trip.{key}", "is not a key of trip (violations, window)")
    count = raw.get("violations")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100_000:
        problems.add("guards.trip.violations", "must be a whole number from 1 to 100000")
        count = None
    if "window" not in raw:
        problems.add("guards.trip.window", "is required: a duration such as 60s or 10m")
        window = None
    else:
        window = _millis(
            raw["window"], "guards.trip.window", problems, most=86_400_000, words="24h"
        )
    if count is None or window is None:
        return None
    return Trip(count, window)
