"""Endpoint YAML: defaults, every problem at once with its path, nothing ignored."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.core.errors import Invalid
from andon.serve.spec import (
    DEFAULT_LIMITS,
    NANOS,
    Budget,
    Canary,
    Cost,
    EndpointSpec,
    Guards,
    Shadow,
    Trip,
    parse_endpoint,
)

LLM = """
name: support-bot
team: support
kind: llm
description: Answers customer questions.
upstreams:
  - url: http://127.0.0.1:8001/v1/
    model: llama-3.1-8b
    api_key_env: SUPPORT_LLM_KEY
  - http://127.0.0.1:8002/v1
timeout: 1500ms
retries: 3
limits: {max_in_flight: 8, max_queue: 0, max_body: 256KB}
fallback:
  content: "  The assistant is paused.  "
"""


def test_an_llm_endpoint_is_read_with_its_fallback_chain() -> None:
    spec = parse_endpoint(LLM)
    assert (spec.name, spec.team, spec.kind, spec.timeout_ms, spec.retries) == (
        "support-bot",
        "support",
        "llm",
        1500,
        3,
    )
    assert [(u.url, u.model, u.api_key_env) for u in spec.upstreams] == [
        ("http://127.0.0.1:8001/v1", "llama-3.1-8b", "SUPPORT_LLM_KEY"),
        ("http://127.0.0.1:8002/v1", None, None),
    ]
    assert (spec.limits.max_in_flight, spec.limits.max_queue, spec.limits.max_body) == (
        8,
        0,
        256 * 1024,
    )
    assert spec.fallback == {"content": "The assistant is paused."}
    assert EndpointSpec.from_dict(spec.as_dict()) == spec


def test_a_model_endpoint_defaults_to_the_champion() -> None:
    spec = parse_endpoint("name: fraud-scorer\nteam: fraud-ml\nkind: model\nmodel: fraud\n")
    assert (spec.model, spec.alias, spec.upstreams, spec.fallback) == (
        "fraud",
        "champion",
        (),
        None,
    )
    assert (spec.timeout_ms, spec.retries) == (30_000, 2)
    assert spec.limits.max_body == DEFAULT_LIMITS["max_body"]
    assert EndpointSpec.from_dict(spec.as_dict()) == spec


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    text = """
name: Support Bot
kind: llm
upstreams:
  - url: ftp://example.com
    api_key_env: "not a var"
    temperature: 0.2
  - {}
model: fraud
timeout: 30 seconds
retries: 11
limits: {max_in_flight: 0, max_body: 1GB, burst: 3}
fallback: {content: "", prediction: 1}
budget: 5
"""
    with pytest.raises(Invalid) as caught:
        parse_endpoint(text)
    errors = caught.value.details["errors"]
    assert errors == [
        "budget: is not a key of an endpoint (keys: alias, budgets, canary, cost, description, "
        "fallback, guards, kind, limits, log_prompts, model, name, rate_limits, retries, shadow, "
        "slo, team, timeout, upstreams)",
        "name: 'Support Bot' is not a name (a-z 0-9 . _ -, at most 100)",
        "team: is required",
        "upstreams[0].temperature: is not a key of an upstream (api_key_env, model, url)",
        "upstreams[0].url: 'ftp://example.com' is not an http or https URL",
        "upstreams[0].api_key_env: must name an environment variable, such as LLM_API_KEY",
        "upstreams[1].url: is required: the upstream's base URL, such as http://127.0.0.1:8001/v1",
        "model: only a model endpoint names a registry model",
        "timeout: '30 seconds' is not a duration such as 500ms, 30s or 2m",
        "retries: must be a whole number from 0 to 10",
        "limits.burst: is not a limit (max_body, max_in_flight, max_queue)",
        "limits.max_in_flight: must be a whole number from 1 to 100000",
        "limits.max_body: '1GB' is not a size such as 512KB or 1MB",
        "fallback.prediction: an llm fallback has only content",
        "fallback.content: is required: the text a stopped endpoint answers",
    ]
    assert caught.value.field == "endpoint"
    assert str(caught.value).startswith("endpoint: endpoint is not a valid endpoint (15 problems)")


def test_a_credential_in_an_upstream_url_is_refused_without_echoing_it() -> None:
    text = "name: a\nteam: t\nkind: llm\nupstreams: ['https://me:s3cret@api.example.com/v1']\n"
    with pytest.raises(Invalid) as caught:
        parse_endpoint(text)
    assert "s3cret" not in str(caught.value)
    assert "upstreams[0].url: must not hold credentials; name them with api_key_env" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1, 2]", "must be a mapping with name, team and kind"),
        ("name: [unclosed", "is not valid YAML at line 1"),
        ("name: a\nteam: t\nkind: grpc\n", "kind: must be one of llm, model, not 'grpc'"),
        ("name: a\nteam: t\nkind: llm\n", "upstreams: an llm endpoint needs a list of at least"),
        ("name: a\nteam: t\nkind: model\n", "model: is required: the registry model"),
        (
            "name: a\nteam: t\nkind: model\nmodel: m\nupstreams: [http://x/v1]\n",
            "upstreams: only an llm endpoint has upstreams",
        ),
        ("name: a\nteam: t\nkind: model\nmodel: m\nalias: Prod\n", "alias: 'Prod' is not an alias"),
        ("name: a\nteam: t\nkind: model\nmodel: m\ntimeout: 0ms\n", "timeout: must be from 1ms"),
        ("name: a\nteam: t\nkind: model\nmodel: m\nfallback: yes\n", "fallback: must be a mapping"),
    ],
)
def test_bad_documents_name_the_field(text: str, problem: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_endpoint(text)
    assert problem in str(caught.value)


def _nested(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8), _nested, max_leaves=12
    )
)
def test_any_yaml_value_is_accepted_or_refused_with_invalid(value: object) -> None:
    import yaml  # type: ignore[import-untyped]

    doc = {"name": "a", "team": "t", "kind": "llm", "upstreams": value, "limits": value}
    with contextlib.suppress(Invalid):
        parse_endpoint(yaml.safe_dump(doc))


def test_the_sample_endpoints_are_valid() -> None:
    from andon.serve.sample import sample_endpoints

    specs = [parse_endpoint(text) for text in sample_endpoints().values()]
    assert [(s.name, s.kind) for s in specs] == [
        ("fraud-scorer", "model"),
        ("fraud-explainer", "llm"),
    ]
    assert specs[0].fallback == {
        "predictions": [1],
        "note": "stopped; every payment goes to manual review",
    }


COSTED = """
name: support-bot
team: support
kind: llm
upstreams: [http://127.0.0.1:8001/v1]
cost:
  per_request: 0.0001
  per_input_token: '0.0000005'
  per_output_token: 0.0000015
  max_output_tokens: 512
budgets:
  - {scope: endpoint, period: day, limit: 5.00}
  - {scope: team, period: month, limit: 100}
  - {scope: principal, period: day, limit: '0.50'}
"""


def test_cost_and_budgets_are_exact_nanodollars_and_round_trip() -> None:
    spec = parse_endpoint(COSTED)
    assert spec.cost == Cost(
        per_request=100_000, per_input_token=500, per_output_token=1500, max_output_tokens=512
    )
    assert spec.budgets == (
        Budget("endpoint", "day", 5 * NANOS),
        Budget("team", "month", 100 * NANOS),
        Budget("principal", "day", NANOS // 2),
    )
    assert EndpointSpec.from_dict(spec.as_dict()) == spec
    assert spec.as_dict()["cost"]["per_input_token"] == 500
    plain = parse_endpoint(LLM)
    assert plain.cost == Cost() and plain.budgets == ()
    # A spec stored before costs existed still loads.
    old = {k: v for k, v in plain.as_dict().items() if k not in ("cost", "budgets")}
    assert EndpointSpec.from_dict(old) == plain


def test_cost_and_budget_problems_are_reported_at_once() -> None:
    text = """
name: fraud
team: fraud-ml
kind: model
model: fraud-detector
cost: {per_request: 0.0000000001, per_input_token: 0.1, max_output_tokens: 5, tip: 1}
budgets:
  - {scope: endpoint, period: day, limit: 1}
  - {scope: endpoint, period: week, limit: -2}
  - {scope: galaxy, period: day}
  - {scope: endpoint, period: day, limit: 0.5}
  - {scope: team, period: month, limit: 0}
  - 7
"""
    with pytest.raises(Invalid) as caught:
        parse_endpoint(text)
    assert caught.value.details["errors"] == [
        "cost.tip: is not a key of cost (max_output_tokens, per_input_token, per_output_token, "
        "per_request)",
        "cost.per_request: 1e-10 has more than 9 decimals (the ledger counts nanodollars)",
        "cost.per_input_token: a model endpoint has only per_request (no tokens)",
        "cost.max_output_tokens: a model endpoint has only per_request",
        "budgets[1].period: must be one of day, month, not 'week'",
        "budgets[1].limit: must be a finite amount of at least 0",
        "budgets[2].scope: must be one of endpoint, team, principal, not 'galaxy'",
        "budgets[2].limit: is required: the most spent per period, in USD",
        "budgets[3]: repeats the endpoint budget per day",
        "budgets[4].limit: must be more than 0 (pull the cord to stop traffic)",
        "budgets[5]: must be a mapping with scope, period and limit",
    ]


@pytest.mark.parametrize(
    ("cost", "problem"),
    [
        ("{per_input_token: abc}", "cost.per_input_token: 'abc' is not an amount in USD"),
        ("{per_output_token: true}", "cost.per_output_token: True is not an amount in USD"),
        ("{per_request: .nan}", "cost.per_request: must be a finite amount"),
        ("{per_request: 5000}", "cost.per_request: must be at most 1000 USD"),
        ("[1]", "cost: must be a mapping"),
        ("{max_output_tokens: 0}", "cost.max_output_tokens: must be a whole number from 1"),
    ],
)
def test_bad_costs_name_the_key(cost: str, problem: str) -> None:
    text = f"name: a\nteam: t\nkind: llm\nupstreams: [http://h/v1]\ncost: {cost}\n"
    with pytest.raises(Invalid) as caught:
        parse_endpoint(text)
    assert any(e.startswith(problem) for e in caught.value.details["errors"]), caught.value


MODEL = "name: scorer\nteam: fraud-ml\nkind: model\nmodel: fraud\nalias: champion\n"


def test_a_model_endpoint_reads_its_canary_and_shadow_and_round_trips() -> None:
    spec = parse_endpoint(
        MODEL + "canary: {alias: challenger, percent: 10}\nshadow: {alias: candidate}\n"
    )
    assert spec.canary == Canary("challenger", 10)
    assert spec.shadow == Shadow("candidate")
    assert EndpointSpec.from_dict(spec.as_dict()) == spec
    plain = parse_endpoint(MODEL)
    assert (plain.canary, plain.shadow) == (None, None)
    stored = plain.as_dict()
    del stored["canary"], stored["shadow"]  # a spec stored before canaries existed
    assert EndpointSpec.from_dict(stored) == plain
    edge = parse_endpoint(MODEL + "canary: {alias: challenger, percent: 0}\n")
    assert edge.canary == Canary("challenger", 0)
    full = parse_endpoint(MODEL + "canary: {alias: challenger, percent: 100}\n")
    assert full.canary == Canary("challenger", 100)


def test_canary_and_shadow_problems_are_reported_at_once() -> None:
    text = MODEL + (
        "canary: {alias: champion, percent: 101, weight: 3}\n"
        "shadow: {alias: champion, mirror: true}\n"
    )
    with pytest.raises(Invalid) as caught:
        parse_endpoint(text)
    errors = caught.value.details["errors"]
    assert errors == [
        "canary.weight: is not a key of canary (alias, percent)",
        "canary.alias: must differ from alias 'champion' (what the endpoint serves)",
        "canary.percent: 101 is not a whole number from 0 to 100",
        "shadow.mirror: is not a key of shadow (alias)",
        "shadow.alias: must differ from alias 'champion' (what the endpoint serves)",
    ]


GUARDED = """
name: support-bot
team: support
kind: llm
upstreams: [http://127.0.0.1:8001/v1]
fallback: {content: I cannot answer that.}
guards:
  pii: [email, card_number, phone]
  deny: ["(?i)internal use only", "BEGIN PRIVATE KEY"]
  json_schema: {type: object, required: [answer]}
  max_chars: 4000
  on_violation: fallback
  trip: {violations: 5, window: 60s}
"""


def test_guards_are_read_and_round_trip() -> None:
    spec = parse_endpoint(GUARDED)
    assert spec.guards == Guards(
        pii=("email", "card_number", "phone"),
        deny=("(?i)internal use only", "BEGIN PRIVATE KEY"),
        json_schema={"type": "object", "required": ["answer"]},
        max_chars=4000,
        on_violation="fallback",
        trip=Trip(5, 60_000),
    )
    assert EndpointSpec.from_dict(spec.as_dict()) == spec
    plain = parse_endpoint(LLM)
    assert plain.guards is None and EndpointSpec.from_dict(plain.as_dict()) == plain
    defaults = parse_endpoint(LLM + "guards: {max_chars: 10}\n").guards
    assert defaults == Guards(max_chars=10)  # refuse, no trip


def test_every_guards_problem_is_reported_at_once_with_its_path() -> None:
    text = """
name: support-bot
team: support
kind: llm
upstreams: [http://127.0.0.1:8001/v1]
guards:
  pii: [email, ssn, email, 7]
  deny: ["ok", "(unclosed", "", 5]
  json_schema: {type: nope}
  max_chars: 0
  on_violation: fallback
  trip: {violations: 0, window: 2 days, every: 1}
  redact: true
"""
    with pytest.raises(Invalid) as caught:
        parse_endpoint(text)
    detectors = "email, phone, card_number, iban, us_ssn, uk_nino, ipv4, ipv6"
    errors = caught.value.details["errors"]
    assert errors[:6] == [
        "guards.redact: is not a key of guards (deny, json_schema, max_chars, on_violation, pii, "
        "trip)",
        f"guards.pii[1]: 'ssn' is not a detector ({detectors})",
        "guards.pii[2]: repeats email",
        f"guards.pii[3]: 7 is not a detector ({detectors})",
        "guards.deny[1]: is not a regular expression: missing ), unterminated subpattern at "
        "position 0",
        "guards.deny[2]: must be a regular expression (text)",
    ]
    assert errors[6] == "guards.deny[3]: must be a regular expression (text)"
    assert errors[7].startswith("guards.json_schema: is not a valid JSON Schema: ")
    assert errors[8:] == [
        "guards.max_chars: must be a whole number from 1 to 10000000",
        "guards.on_violation: fallback needs the endpoint's fallback: declared",
        "guards.trip.every: is not a key of trip (violations, window)",
        "guards.trip.violations: must be a whole number from 1 to 100000",
        "guards.trip.window: '2 days' is not a duration such as 500ms, 30s or 2m",
    ]


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("canary: {percent: 5}", "canary.alias: is required"),
        ("canary: {alias: b}", "canary.percent: is required"),
        ("canary: {alias: b, percent: 2.5}", "canary.percent: 2.5 is not a whole number"),
        ("canary: {alias: b, percent: true}", "canary.percent: True is not a whole number"),
        ("canary: {alias: b, percent: -1}", "canary.percent: -1 is not a whole number"),
        ("canary: b", "canary: must be a mapping with alias, percent"),
        ("shadow: [b]", "shadow: must be a mapping with alias"),
        ("shadow: {alias: 'Bad Alias'}", "shadow.alias: 'Bad Alias' is not an alias name"),
        ("canary: {alias: champion, percent: 5}", "canary.alias: must differ from alias"),
    ],
)
def test_bad_canaries_name_the_key(extra: str, problem: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_endpoint(MODEL + extra + "\n")
    assert any(e.startswith(problem) for e in caught.value.details["errors"]), caught.value


def test_only_a_model_endpoint_has_a_canary_or_a_shadow() -> None:
    text = (
        "name: bot\nteam: support\nkind: llm\nupstreams: ['http://127.0.0.1:1/v1']\n"
        "canary: {alias: b, percent: 5}\nshadow: {alias: c}\n"
    )
    with pytest.raises(Invalid) as caught:
        parse_endpoint(text)
    assert caught.value.details["errors"] == [
        "canary: only a model endpoint has a canary or a shadow",
        "shadow: only a model endpoint has a canary or a shadow",
    ]


@pytest.mark.parametrize(
    ("guards", "problem"),
    [
        ("[pii]", "guards: must be a mapping with deny, json_schema"),
        ("{}", "guards: names no check: give pii, deny, json_schema or max_chars"),
        ("{on_violation: refuse}", "guards: names no check"),
        ("{pii: email}", "guards.pii: must be a list of detectors"),
        ("{pii: []}", "guards.pii: must be a list of detectors"),
        ("{deny: '(?i)secret'}", "guards.deny: must be a list of regular expressions"),
        ("{json_schema: [1]}", "guards.json_schema: must be a JSON Schema (a mapping)"),
        ("{max_chars: true}", "guards.max_chars: must be a whole number"),
        ("{max_chars: 10, on_violation: shrug}", "guards.on_violation: must be one of refuse, "),
        ("{max_chars: 10, trip: 5}", "guards.trip: must be a mapping with violations and window"),
        ("{max_chars: 10, trip: {violations: 3}}", "guards.trip.window: is required"),
        ("{max_chars: 10, trip: {violations: 3, window: 25h}}", "guards.trip.window: must be "),
    ],
)
def test_bad_guards_name_the_key(guards: str, problem: str) -> None:
    text = f"name: a\nteam: t\nkind: llm\nupstreams: [http://h/v1]\nguards: {guards}\n"
    with pytest.raises(Invalid) as caught:
        parse_endpoint(text)
    assert any(e.startswith(problem) for e in caught.value.details["errors"]), caught.value


def test_a_model_endpoints_guards_check_size_and_deny_only() -> None:
    base = "name: f\nteam: t\nkind: model\nmodel: m\n"
    spec = parse_endpoint(base + "guards: {max_chars: 100, deny: [secret]}\n")
    assert spec.guards == Guards(deny=("secret",), max_chars=100)
    with pytest.raises(Invalid) as caught:
        parse_endpoint(base + "guards: {pii: [email], json_schema: {type: object}}\n")
    assert caught.value.details["errors"] == [
        "guards.pii: a model endpoint's guards are max_chars and deny",
        "guards.json_schema: a model endpoint's guards are max_chars and deny",
    ]


def test_rate_limits_and_the_latency_objective() -> None:
    base = "name: a\nteam: t\nkind: llm\nupstreams: [http://h/v1]\n"
    spec = parse_endpoint(
        base + "rate_limits: {principal: 10/s, team: {rate: 600/m, burst: 50}}\nslo: {p95: 800ms}\n"
    )
    assert [(r.scope, r.rate, r.per_ms, r.burst) for r in spec.rate_limits] == [
        ("principal", 10, 1000, 10),
        ("team", 600, 60_000, 50),
    ]
    assert spec.slo_p95_ms == 800
    assert EndpointSpec.from_dict(spec.as_dict()) == spec
    with pytest.raises(Invalid) as caught:
        parse_endpoint(
            base + "rate_limits: {caller: 1/s, principal: ten/s, team: {rate: 5/m, burst: 0}}\n"
            "slo: {p99: 1s}\n"
        )
    assert caught.value.details["errors"] == [
        "rate_limits.caller: is not a scope of rate_limits (principal, team)",
        "rate_limits.principal: 'ten/s' is not a rate such as 10/s, 600/m or 5000/h",
        "rate_limits.team.burst: must be a whole number from 1 to 1000000",
        "slo: must be a mapping with p95 (a duration such as 800ms)",
    ]


def test_prompt_logging_is_a_flag_of_llm_endpoints() -> None:
    base = "name: a\nteam: t\nkind: llm\nupstreams: [http://h/v1]\n"
    assert parse_endpoint(base).log_prompts is False
    assert parse_endpoint(base + "log_prompts: true\n").log_prompts is True
    with pytest.raises(Invalid, match="log_prompts: must be true or false"):
        parse_endpoint(base + "log_prompts: yes please\n")
    with pytest.raises(Invalid, match="log_prompts: only an llm endpoint has prompts to log"):
        parse_endpoint("name: a\nteam: t\nkind: model\nmodel: m\nlog_prompts: true\n")
