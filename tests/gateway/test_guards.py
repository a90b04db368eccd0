"""Output guards through the real gateway and the official openai client: a violating answer
is never returned (422 or the fallback), streams are cut before the violating event, every
violation is recorded masked, and enough of them pull the endpoint's cord (jidoka)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import httpx
import openai
import pytest

from andon.audit import service as audit
from andon.events import service as events
from andon.serve import service as serve
from tests.api.live import assert_problem
from tests.gateway.harness import Line

ASK = [{"role": "user", "content": "answer please"}]
CARD = "4111 1111 1111 1111"
FALLBACK = "{content: 'I cannot share that here.'}"


def _say(text: str) -> str:
    return "say=" + quote(text, safe="")


def _post(gw: Line, name: str, **extra: object) -> httpx.Response:
    with gw.http() as http:
        return http.post("/v1/chat/completions", json={"model": name, "messages": ASK, **extra})


def _log(gw: Line) -> str:
    return "".join(p.read_text() for p in gw.settings.home.glob("gateway-*.log"))


def test_a_card_number_in_an_answer_is_refused_and_recorded_masked(gw: Line) -> None:
    name = gw.llm(_say(f"Your card is {CARD}, thanks."), guards="{pii: [email, card_number]}")
    before = events.list_events(gw.admin, type_="guard.violation", limit=1000)
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        gw.client().chat.completions.create(model=name, messages=ASK)
    doc = refused.value.body
    assert isinstance(doc, dict)
    assert doc["type"].endswith("/output-guard")
    assert (doc["guard"], doc["detector"]) == ("pii", "card_number")
    assert doc["detail"] == (
        f"the answer of endpoint '{name}' broke its pii guard (card_number) and was not sent"
    )
    raw = _post(gw, name)
    assert_problem(raw, 422)
    assert CARD not in raw.text and "1111 1111" not in raw.text
    assert gw.calls(name) == 2  # the upstream answered; the gateway held the answer back
    found = serve.list_violations(gw.admin, name)
    assert [(v.kind, v.detector, v.evidence, v.principal, v.action) for v in found] == [
        ("pii", "card_number", "4111 **** **** 1111", "admin", "refuse")
    ] * 2
    emitted = events.list_events(
        gw.admin, after=before[-1].seq if before else 0, type_="guard.violation"
    )
    assert [(e.payload["endpoint"], e.payload["evidence"]) for e in emitted] == [
        (name, "4111 **** **** 1111")
    ] * 2
    assert "card_number: 4111 **** **** 1111" in _log(gw)
    assert CARD not in _log(gw)
    # A clean answer passes untouched.
    clean = gw.llm(_say("Your order ships Monday."), guards="{pii: [email, card_number]}")
    reply = gw.client().chat.completions.create(model=clean, messages=ASK)
    assert reply.choices[0].message.content == "Your order ships Monday."
    assert serve.list_violations(gw.admin, clean) == []


def test_deny_patterns_and_max_chars_refuse(gw: Line) -> None:
    denied = gw.llm(
        _say("This page is Internal Use Only, sorry."),
        guards="{deny: ['BEGIN PRIVATE KEY', '(?i)internal use only']}",
    )
    doc = assert_problem(_post(gw, denied), 422)
    assert (doc["guard"], doc["detector"]) == ("deny", "deny[1]")
    assert serve.list_violations(gw.admin, denied)[0].evidence == "In****** *** **ly"
    long = gw.llm(_say("one two three four five six"), guards="{max_chars: 10}")
    doc = assert_problem(_post(gw, long), 422)
    assert (doc["guard"], doc["detector"]) == ("max_chars", "max_chars")
    assert serve.list_violations(gw.admin, long)[0].evidence == "27 characters, at most 10"


def test_a_json_schema_holds_structured_answers(gw: Line) -> None:
    schema = (
        "{json_schema: {type: object, required: [answer], properties: {answer: {type: string}}}}"
    )
    good = gw.llm(_say('{"answer": "42"}'), guards=schema)
    reply = gw.client().chat.completions.create(model=good, messages=ASK)
    assert reply.choices[0].message.content == '{"answer": "42"}'
    missing = gw.llm(_say('{"reply": "42"}'), guards=schema)
    doc = assert_problem(_post(gw, missing), 422)
    assert (doc["guard"], doc["detector"]) == ("json_schema", "required")
    typed = gw.llm(_say('{"answer": 4111}'), guards=schema)
    assert assert_problem(_post(gw, typed), 422)["detector"] == "type"
    assert serve.list_violations(gw.admin, typed)[0].evidence == "at /answer: type"
    prose = gw.llm(_say("Sure! The answer is 42."), guards=schema)
    assert assert_problem(_post(gw, prose), 422)["detector"] == "json"
    # Streamed, a schema can only judge the whole answer: held to the end, then sent or cut.
    streamed = gw.client().chat.completions.create(model=good, messages=ASK, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == (
        '{"answer": "42"}'
    )
    refused = gw.client().chat.completions.create(model=missing, messages=ASK, stream=True)
    with pytest.raises(openai.APIError, match="json_schema guard"):
        next(iter(refused))  # the very first event is the error: nothing of the answer went out


def test_fallback_mode_answers_the_declared_fallback(gw: Line) -> None:
    name = gw.llm(
        _say("Mail jane.doe@example.com for a refund."),
        guards="{pii: [email], on_violation: fallback}",
        fallback=FALLBACK,
    )
    reply = gw.client().chat.completions.with_raw_response.create(model=name, messages=ASK)
    assert reply.status_code == 200
    assert reply.headers["x-andon-fallback"] == "guard:pii"
    completion = reply.parse()
    assert completion.choices[0].message.content == "I cannot share that here."
    assert completion.system_fingerprint == "andon-fallback"
    [violation] = serve.list_violations(gw.admin, name)
    assert (violation.evidence, violation.action) == ("j***.***@e******.com", "fallback")
    assert "jane.doe@example.com" not in _log(gw)


def test_a_stream_is_cut_before_the_violating_event(gw: Line) -> None:
    text = f"Hello there friend, my card is {CARD} and that is all"
    name = gw.llm(_say(text) + "+chunk=5", guards="{pii: [card_number]}")
    got: list[str] = []

    def read() -> None:
        for chunk in gw.client().chat.completions.create(model=name, messages=ASK, stream=True):
            got.extend(c.delta.content or "" for c in chunk.choices)

    with pytest.raises(openai.APIError, match="pii guard") as cut:
        read()
    assert "stream was cut" in str(cut.value)
    # Everything before the card arrived; no digit of it did (held while it could be one).
    assert "".join(got) == "Hello there friend, my card is"
    assert serve.list_violations(gw.admin, name)[0].evidence == "4111 **** **** 1111"
    # The raw stream: the error event is the last data, no event carries the card's digits.
    with (
        gw.http() as http,
        http.stream(
            "POST", "/v1/chat/completions", json={"model": name, "messages": ASK, "stream": True}
        ) as raw,
    ):
        data = [line for line in raw.iter_lines() if line.startswith("data: ")]
    sent = "".join(
        c["delta"].get("content") or ""
        for line in data[:-1]
        for c in json.loads(line[6:])["choices"]
    )
    assert sent == "Hello there friend, my card is"
    assert json.loads(data[-1][6:])["error"]["type"] == "output_guard"
    # A clean stream passes whole, in order.
    clean = gw.llm(_say("Your order 42 ships Monday."), guards="{pii: [card_number]}")
    streamed = gw.client().chat.completions.create(model=clean, messages=ASK, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == (
        "Your order 42 ships Monday."
    )


def test_repeated_violations_pull_the_cord_as_the_gateway(gw: Line) -> None:
    name = gw.llm(
        _say(f"Card {CARD}."), guards="{pii: [card_number], trip: {violations: 3, window: 60s}}"
    )
    for _ in range(3):
        assert _post(gw, name).status_code == 422
    [cord] = [c for c in serve.endpoint_cords(gw.admin) if c.target == name]
    assert (cord.pulled, cord.changed_by) == (True, "gateway")
    assert cord.reason == "jidoka: 3 guard violations in 60s (last: pii)"
    [entry] = [
        e
        for e in audit.list_entries(gw.admin, actor="gateway")
        if e.action == "cord.pull" and e.change.get("endpoint") == name
    ]
    assert entry.change["jidoka"] == {"violations": 3, "window": "60s", "last": "pii"}
    # Violations themselves are not audited: the only entry by gateway here is the pull.
    assert all(e.action != "guard.violation" for e in audit.list_entries(gw.admin))
    gw.settle()
    stopped = assert_problem(_post(gw, name), 503)
    assert stopped["stopped_by"] == "gateway"
    assert gw.calls(name) == 3, "a stopped endpoint sends nothing upstream"
    # Released, it serves again and counts from the release (one violation does not re-trip).
    serve.release_endpoint_cord(gw.admin, name, reason="upstream prompt fixed")
    gw.settle()
    assert _post(gw, name).status_code == 422
    assert not next(c for c in serve.endpoint_cords(gw.admin) if c.target == name).pulled


def test_a_model_endpoints_prediction_body_is_held_to_size_and_deny(
    gw: Line, tmp_path: Path
) -> None:
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from andon.registry import service as registry
    from andon.registry.formats import FEATURE_NAMES_KEY

    rng = np.random.default_rng(7)
    X = rng.random((50, 2)).astype(np.float32)
    model = LogisticRegression().fit(X, (X[:, 0] > 0.5).astype(np.int64))
    proto = to_onnx(model, X[:1], target_opset=17, options={"zipmap": False})
    proto.metadata_props.add(key=FEATURE_NAMES_KEY, value=json.dumps(["a", "b"]))
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    registry.register_model(gw.admin, "guarded", team="support", artifact=tmp_path / "m.onnx")
    registry.set_alias(gw.admin, "guarded@1", "champion")
    base = "team: support\nkind: model\nmodel: guarded\n"
    gw.apply(f"name: tiny\n{base}guards: {{max_chars: 5}}\n")
    gw.apply(
        f"name: nodeny\n{base}fallback: {{predictions: [0]}}\n"
        "guards: {deny: ['probabilities'], on_violation: fallback}\n"
    )
    body = {"inputs": [{"a": 0.9, "b": 0.1}]}
    with gw.http() as http:
        doc = assert_problem(http.post("/v1/endpoints/tiny/predict", json=body), 422)
        assert (doc["guard"], doc["detector"]) == ("max_chars", "max_chars")
        swapped = http.post("/v1/endpoints/nodeny/predict", json=body)
    assert swapped.status_code == 200, swapped.text
    assert swapped.headers["x-andon-fallback"] == "guard:deny"
    assert swapped.json() == {"predictions": [0]}
    assert serve.list_violations(gw.admin, "nodeny")[0].action == "fallback"
