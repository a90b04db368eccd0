"""Endpoint YAML: defaults, every problem at once with its path, nothing ignored."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.core.errors import Invalid
from andon.serve.spec import DEFAULT_LIMITS, EndpointSpec, parse_endpoint

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
        "budget: is not a key of an endpoint (keys: alias, description, fallback, kind, limits, "
        "model, name, retries, team, timeout, upstreams)",
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


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12))  # fmt: skip
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
