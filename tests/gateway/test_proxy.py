"""The OpenAI protocol through the gateway, driven by the official ``openai`` client."""

from __future__ import annotations

import time

import openai
import pytest

from andon.auth import service as auth
from tests.api.live import assert_problem
from tests.gateway.harness import UPSTREAM_KEY, Line

ASK = [{"role": "user", "content": "why was payment 42 flagged?"}]


def test_chat_completion_passes_through_with_the_upstream_key(gw: Line) -> None:
    name = gw.llm()
    before = gw.upstream.authorized
    reply = gw.client().chat.completions.with_raw_response.create(model=name, messages=ASK)
    completion = reply.parse()
    assert completion.choices[0].message.content == "You said: why was payment 42 flagged?"
    assert completion.usage is not None and completion.usage.completion_tokens == 7
    assert reply.headers["x-andon-endpoint"] == name
    assert reply.headers["x-andon-attempts"] == "1"
    # The gateway sent the key the endpoint names (the loopback refuses a request without it).
    assert gw.upstream.authorized == before + 1
    assert gw.calls(name) == 1


def test_a_stream_is_passed_through_as_it_arrives(gw: Line) -> None:
    name = gw.llm("chunk=150")
    started = time.monotonic()
    arrivals: list[tuple[float, str | None]] = []
    stream = gw.client().chat.completions.create(
        model=name, messages=[{"role": "user", "content": "one two three"}], stream=True
    )
    for chunk in stream:
        arrivals.append((time.monotonic() - started, chunk.choices[0].delta.content))
    text = "".join(piece or "" for _, piece in arrivals)
    assert text == "You said: one two three"
    # Five words 150 ms apart: the first arrived long before the last was written upstream.
    assert arrivals[-1][0] - arrivals[0][0] >= 0.5, arrivals


def test_embeddings_and_models(gw: Line) -> None:
    name = gw.llm()
    result = gw.client().embeddings.create(model=name, input=["card", "merchant"])
    assert [len(item.embedding) for item in result.data] == [8, 8]
    assert result.data[0].embedding != result.data[1].embedding
    listed = {m.id: m.owned_by for m in gw.client().models.list()}
    assert listed[name] == "support"


def test_models_lists_only_what_the_caller_may_invoke(gw: Line) -> None:
    mine, other = gw.llm(), gw.llm(team="fraud-ml")
    auth.bind_role(gw.admin, "cal", "caller", scope="team", target="support")
    gw.settle()
    listed = {m.id for m in gw.client("cal").models.list()}
    assert mine in listed and other not in listed
    with pytest.raises(openai.PermissionDeniedError) as refused:
        gw.client("cal").chat.completions.create(model=other, messages=ASK)
    assert refused.value.body["action"] == "endpoint.invoke"  # type: ignore[index]
    # A viewer reads endpoints but may not call them.
    with pytest.raises(openai.PermissionDeniedError):
        gw.client("ravi").chat.completions.create(model=mine, messages=ASK)


def test_unknown_endpoint_is_404_naming_the_model(gw: Line) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        gw.client().chat.completions.create(model="no-such-endpoint", messages=ASK)
    assert missing.value.body["field"] == "model"  # type: ignore[index]
    assert "no-such-endpoint" in missing.value.body["detail"]  # type: ignore[index]


def test_tokens_missing_malformed_unknown_or_revoked(gw: Line) -> None:
    name = gw.llm()
    with gw.http(None) as anon:
        doc = assert_problem(anon.post("/v1/chat/completions", json={"model": name}), 401)
        assert "token is required" in doc["detail"]
        wrong = anon.post(
            "/v1/chat/completions", json={"model": name}, headers={"Authorization": "Basic x"}
        )
        assert_problem(wrong, 401)
        unknown = anon.post(
            "/v1/chat/completions",
            json={"model": name},
            headers={"Authorization": "Bearer andon_" + "x" * 43},
        )
        assert assert_problem(unknown, 401)["detail"] == "unknown token"
        assert unknown.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    auth.create_principal(gw.admin, "temp")
    auth.bind_role(gw.admin, "temp", "caller", scope="team", target="support")
    record, secret = auth.create_token(gw.admin, "temp")
    client = openai.OpenAI(base_url=gw.base + "/v1", api_key=secret, max_retries=0)
    gw.settle()
    assert _served(client, name)
    auth.revoke_token(gw.admin, record.id, reason="leaked")
    gw.settle()
    with pytest.raises(openai.AuthenticationError) as revoked:
        client.chat.completions.create(model=name, messages=ASK)
    assert "revoked" in revoked.value.body["detail"]  # type: ignore[index]


def _served(client: openai.OpenAI, name: str) -> bool:
    try:
        client.chat.completions.create(model=name, messages=ASK)
    except (openai.AuthenticationError, openai.PermissionDeniedError):
        return False
    return True


def test_bad_requests_are_problems_and_the_worker_keeps_serving(gw: Line) -> None:
    name = gw.llm(limits="{max_body: 2KB}")
    with gw.http() as http:
        assert_problem(
            http.post(
                "/v1/chat/completions",
                content=b"{not json",
                headers={"content-type": "application/json"},
            ),
            400,
            field="body",
        )
        assert_problem(
            http.post(
                "/v1/chat/completions", content=b"model=x", headers={"content-type": "text/plain"}
            ),
            415,
        )
        assert_problem(http.post("/v1/chat/completions", json=[1, 2]), 422, field="body")
        assert_problem(
            http.post("/v1/chat/completions", json={"messages": ASK}), 422, field="model"
        )
        big = {"model": name, "messages": [{"role": "user", "content": "x" * 4096}]}
        assert assert_problem(http.post("/v1/chat/completions", json=big), 413)["limit"] == 2048
        huge = b"{" + b" " * (70 * 1024 * 1024)
        assert_problem(
            http.post(
                "/v1/chat/completions", content=huge, headers={"content-type": "application/json"}
            ),
            413,
        )
        wrong_method = http.get("/v1/chat/completions")
        assert_problem(wrong_method, 405)
        assert wrong_method.headers["allow"] == "POST"
        assert_problem(http.get("/v1/nothing-here"), 404)
    assert gw.client().chat.completions.create(model=name, messages=ASK).choices
    assert gw.calls(name) == 1, "no refused request reached the upstream"


def test_the_upstream_key_never_reaches_a_caller_or_the_log(gw: Line) -> None:
    name = gw.llm("status=401")
    with gw.http() as http:
        answer = http.post("/v1/chat/completions", json={"model": name, "messages": ASK})
    # The upstream refusing the gateway's key is the operator's problem, not the caller's.
    doc = assert_problem(answer, 502)
    assert "LOOPBACK_KEY" in doc["detail"]
    assert UPSTREAM_KEY not in answer.text
    log = "".join(p.read_text() for p in gw.settings.home.glob("gateway-*.log"))
    assert UPSTREAM_KEY not in log
