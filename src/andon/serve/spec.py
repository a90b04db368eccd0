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
    rate_limits:                    # token buckets per principal and per team (docs/gateway.md)
      principal: 10/s               # or {rate: 600/m, burst: 50}
    slo: {p95: 800ms}               # the latency objective, exported as a metric
    log_prompts: false              # true: prompts and answers on the span, PII masked
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

from typing import Any

from andon.core.errors import Invalid
from andon.core.yaml_limits import load_bounded
from andon.serve.spec_model import (
    DEFAULT_LIMITS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_MS,
    KINDS,
    MAX_RETRIES,
    NANOS,
    Budget,
    Canary,
    Cost,
    EndpointSpec,
    Guards,
    Limits,
    RateLimit,
    Shadow,
    Trip,
    Upstream,
)
from andon.serve.spec_sections import (
    Problems,
    check_budgets,
    check_cost,
    check_fallback,
    check_guards,
    check_limits,
    check_millis,
    check_model,
    check_name,
    check_rate_limits,
    check_slo,
    check_upstreams,
    check_variants,
)

__all__ = [
    "DEFAULT_LIMITS",
    "NANOS",
    "Budget",
    "Canary",
    "Cost",
    "EndpointSpec",
    "Guards",
    "Limits",
    "RateLimit",
    "Shadow",
    "Trip",
    "Upstream",
    "parse_endpoint",
]

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
    "rate_limits",
    "slo",
    "log_prompts",
}


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
    problems = Problems()
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


def _endpoint(raw: dict[str, Any], problems: Problems) -> EndpointSpec | None:
    for key in sorted(set(map(str, raw)) - _TOP):
        problems.add(key, f"is not a key of an endpoint (keys: {', '.join(sorted(_TOP))})")
    name = check_name(raw.get("name"), "name", problems)
    team = check_name(raw.get("team"), "team", problems)
    kind = raw.get("kind")
    if kind not in KINDS:
        problems.add("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.add("description", "must be text")
        description = ""
    upstreams = check_upstreams(raw.get("upstreams"), kind, problems)
    model, alias = check_model(raw, kind, problems)
    timeout = check_millis(raw.get("timeout", f"{DEFAULT_TIMEOUT_MS}ms"), "timeout", problems)
    retries = raw.get("retries", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        problems.add("retries", f"must be a whole number from 0 to {MAX_RETRIES}")
        retries = DEFAULT_RETRIES
    limits = check_limits(raw.get("limits"), problems)
    fallback = check_fallback(raw.get("fallback"), kind, problems)
    cost = check_cost(raw.get("cost"), kind, problems)
    budgets = check_budgets(raw.get("budgets"), problems)
    canary, shadow = check_variants(raw, kind, alias, problems)
    guards = check_guards(raw.get("guards"), kind, fallback is not None, problems)
    rate_limits = check_rate_limits(raw.get("rate_limits"), problems)
    slo = check_slo(raw.get("slo"), problems)
    log_prompts = raw.get("log_prompts", False)
    if not isinstance(log_prompts, bool):
        problems.add("log_prompts", "must be true or false")
        log_prompts = False
    elif log_prompts and kind != "llm":
        problems.add("log_prompts", "only an llm endpoint has prompts to log")
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
        rate_limits=rate_limits,
        slo_p95_ms=slo,
        log_prompts=log_prompts,
    )
