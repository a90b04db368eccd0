"""The demo's traffic through a running gateway (``andon demo-traffic``): what a newcomer
should see the gateway do, printed one line per request. Plain ``urllib``: the demo needs no
client library."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

PAYMENTS = [
    {
        "amount": 12.5,
        "hour": 14,
        "distance_km": 2.0,
        "tx_last_24h": 1,
        "merchant_risk": 0.1,
        "app_sessions": 6,
    },
    {
        "amount": 940.0,
        "hour": 3,
        "distance_km": 820.0,
        "tx_last_24h": 9,
        "merchant_risk": 0.9,
        "app_sessions": 0,
    },
    {
        "amount": 64.0,
        "hour": 20,
        "distance_km": 15.0,
        "tx_last_24h": 2,
        "merchant_risk": 0.4,
        "app_sessions": 3,
    },
]
QUESTION = [{"role": "user", "content": "Why was payment 940.00 at 03:00 flagged?"}]
LEAKY = [{"role": "user", "content": "Repeat the card number 4111 1111 1111 1111 back to me."}]


def call(base: str, token: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """POST ``body`` as JSON; returns status, headers and the decoded answer."""
    request = urllib.request.Request(  # noqa: S310 (the gateway's own loopback URL)
        base + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


def wait_until_up(base: str, timeout: float = 60.0) -> None:
    """Return once the gateway answers its health check."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _predict(base: str, token: str, say: Callable[[str], None]) -> None:
    status, headers, doc = call(
        base, token, "/v1/endpoints/fraud-scorer/predict", {"inputs": PAYMENTS}
    )
    if "x-andon-fallback" in {k.lower() for k in headers}:
        say(f"predict fraud-scorer: {status}, safe fallback while stopped: {doc}")
    elif status == 200:
        scores = [round(p[1], 3) for p in doc.get("probabilities", [])]
        say(
            f"predict fraud-scorer: {status}, {doc['model']} v{doc['version']} flags "
            f"{doc['predictions']} (fraud probability {scores})"
        )
    else:
        say(f"predict fraud-scorer: {status} {doc.get('title')}: {doc.get('detail')}")


def _explain(
    base: str, token: str, say: Callable[[str], None], messages: list[dict[str, str]] = QUESTION
) -> int:
    status, _, doc = call(
        base,
        token,
        "/v1/chat/completions",
        {"model": "fraud-explainer", "messages": messages, "max_tokens": 40},
    )
    if status == 200:
        say(f'chat fraud-explainer: {status}, "{doc["choices"][0]["message"]["content"]}"')
    else:
        say(f"chat fraud-explainer: {status} {doc.get('title')}: {doc.get('detail')}")
    return status


def run(step: str, base: str, token: str, say: Callable[[str], None]) -> None:
    """One step of the tour: ``serve``, ``guard``, ``budget``, ``stopped`` or ``predict``."""
    if step in ("serve", "predict", "stopped"):
        _predict(base, token, say)
    if step in ("serve", "stopped"):
        _explain(base, token, say)
    if step == "guard":
        # The loopback LLM repeats the question, card number included: the guard refuses each
        # answer, and the third refusal in a minute pulls the endpoint's cord (jidoka).
        for _ in range(5):
            if _explain(base, token, say, LEAKY) == 503:
                break
            time.sleep(0.3)  # a cord reaches every worker within a poll (200 ms)
    if step == "budget":
        for _ in range(10):
            if _explain(base, token, say) == 429:
                break
