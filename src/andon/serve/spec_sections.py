"""The sections of an endpoint's YAML, each checked on its own: every problem is added to
one list with its path, so :func:`andon.serve.spec.parse_endpoint` reports them all at once."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from andon.serve.spec_model import (
    DEFAULT_LIMITS,
    MAX_BODY,
    MAX_LIMIT,
    MAX_PRICE,
    NAME,
    NANOS,
    PERIODS,
    RATE_SCOPES,
    SCOPES,
    Budget,
    Canary,
    Cost,
    Guards,
    Limits,
    RateLimit,
    Shadow,
    Trip,
    Upstream,
)

_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_MILLIS = re.compile(r"^(\d{1,9})\s*(ms|s|m|h)$")
_BYTES = re.compile(r"^(\d{1,12})\s*(B|KB|MB)$")
_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
_SIZE = {"B": 1, "KB": 1024, "MB": 1024 * 1024}
_CANARY = {"alias", "percent"}
_SHADOW = {"alias"}
_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")
_COST = {"per_request", "per_input_token", "per_output_token", "max_output_tokens"}
_BUDGET = {"scope", "period", "limit"}
_UPSTREAM = {"url", "model", "api_key_env"}
_LIMITS = {"max_in_flight", "max_queue", "max_body"}


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append(f"{path}: {reason}")


def check_name(value: Any, path: str, problems: Problems) -> str | None:
    """A name (lowercase, digits, ``.``, ``_``, ``-``) at ``path``."""
    if value is None:
        problems.add(path, "is required")
        return None
    if not isinstance(value, str) or not NAME.match(value):
        problems.add(path, f"{value!r} is not a name (a-z 0-9 . _ -, at most 100)")
        return None
    return value


def check_upstreams(raw: Any, kind: Any, problems: Problems) -> tuple[Upstream, ...]:
    """The fallback chain of an ``llm`` endpoint (a ``model`` endpoint has none)."""
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
        url = check_url(item.get("url"), f"{path}.url", problems)
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


def check_url(value: Any, path: str, problems: Problems) -> str | None:
    """An upstream's base URL: http(s), a host, no credentials (never echoed)."""
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


def check_model(
    raw: dict[str, Any], kind: Any, problems: Problems
) -> tuple[str | None, str | None]:
    """The registry model and alias a ``model`` endpoint serves."""
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


def check_variants(
    raw: dict[str, Any], kind: Any, primary: str | None, problems: Problems
) -> tuple[Canary | None, Shadow | None]:
    """A model endpoint's ``canary`` and ``shadow``."""
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


def check_millis(
    value: Any, path: str, problems: Problems, *, most: int = 3_600_000, words: str = "60m"
) -> int | None:
    """A duration (``500ms``, ``30s``, ``2m``, ``1h``) in milliseconds."""
    match = _MILLIS.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        problems.add(path, f"{value!r} is not a duration such as 500ms, 30s or 2m")
        return None
    millis = int(match.group(1)) * _MS[match.group(2)]
    if not 1 <= millis <= most:
        problems.add(path, f"must be from 1ms to {words}")
        return None
    return millis


def check_limits(raw: Any, problems: Problems) -> Limits:
    """The per-worker load bounds."""
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
        size = check_size(raw["max_body"], "limits.max_body", problems)
        if size is not None:
            values["max_body"] = size
    return Limits(**values)


def check_size(value: Any, path: str, problems: Problems) -> int | None:
    """A byte size (``B``, ``KB``, ``MB``)."""
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


def check_fallback(raw: Any, kind: Any, problems: Problems) -> dict[str, Any] | None:
    """The safe answer of a stopped endpoint."""
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


def check_nanos(value: Any, path: str, problems: Problems, *, most: int) -> int | None:
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


def check_cost(raw: Any, kind: Any, problems: Problems) -> Cost:
    """A USD amount as integer nanodollars (at most 9 decimals)."""
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
        nanos = check_nanos(raw[key], f"cost.{key}", problems, most=MAX_PRICE)
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


def check_budgets(raw: Any, problems: Problems) -> tuple[Budget, ...]:
    """The endpoint's budgets (one per scope and period)."""
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
            limit = check_nanos(item["limit"], f"{path}.limit", problems, most=MAX_LIMIT)
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


def check_guards(raw: Any, kind: Any, has_fallback: bool, problems: Problems) -> Guards | None:
    """The output guards."""
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
    pii = check_detectors(raw.get("pii"), problems) if kind != "model" else ()
    deny = check_patterns(raw.get("deny"), problems)
    schema = check_schema(raw.get("json_schema"), problems) if kind != "model" else None
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
    trip = check_trip(raw.get("trip"), problems)
    return Guards(pii, deny, schema, max_chars, str(on_violation), trip)


def check_detectors(raw: Any, problems: Problems) -> tuple[str, ...]:
    """The PII detectors a guard names."""
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


def check_patterns(raw: Any, problems: Problems) -> tuple[str, ...]:
    """The deny patterns, each compiled."""
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


def check_schema(raw: Any, problems: Problems) -> dict[str, Any] | None:
    """A JSON Schema for structured outputs, itself checked."""
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


def check_trip(raw: Any, problems: Problems) -> Trip | None:
    """The jidoka rule: so many violations within a window pull the cord."""
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
        window = check_millis(
            raw["window"], "guards.trip.window", problems, most=86_400_000, words="24h"
        )
    if count is None or window is None:
        return None
    return Trip(count, window)


_RATE = re.compile(r"^(\d{1,9})\s*/\s*(s|m|h)$")
_PER_MS = {"s": 1000, "m": 60_000, "h": 3_600_000}


def check_rate_limits(raw: Any, problems: Problems) -> tuple[RateLimit, ...]:
    """Token buckets per principal and per team: ``{principal: 10/s, team: {rate: 600/m,
    burst: 50}}`` (the burst defaults to one second's worth, at least 1)."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        problems.add("rate_limits", "must be a mapping with principal and/or team")
        return ()
    out = []
    for key in sorted(map(str, raw)):
        path = f"rate_limits.{key}"
        if key not in RATE_SCOPES:
            problems.add(path, f"is not a scope of rate_limits ({', '.join(RATE_SCOPES)})")
            continue
        item = raw[key]
        burst: Any = None
        if isinstance(item, dict):
            for extra in sorted(set(map(str, item)) - {"rate", "burst"}):
                problems.add(f"{path}.{extra}", "is not a key of a rate limit (rate, burst)")
            burst = item.get("burst")
            item = item.get("rate")
        match = _RATE.match(item.strip()) if isinstance(item, str) else None
        if match is None or int(match.group(1)) < 1:
            problems.add(path, f"{item!r} is not a rate such as 10/s, 600/m or 5000/h")
            continue
        rate, per_ms = int(match.group(1)), _PER_MS[match.group(2)]
        if burst is None:
            burst = max(1, math.ceil(rate * 1000 / per_ms))
        elif isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= 10**6:
            problems.add(f"{path}.burst", "must be a whole number from 1 to 1000000")
            continue
        out.append(RateLimit(key, rate, per_ms, burst))
    return tuple(out)


def check_slo(raw: Any, problems: Problems) -> int | None:
    """The latency objective ``{p95: 800ms}``, in milliseconds."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(map(str, raw)) != {"p95"}:
        problems.add("slo", "must be a mapping with p95 (a duration such as 800ms)")
        return None
    return check_millis(raw["p95"], "slo.p95", problems)
