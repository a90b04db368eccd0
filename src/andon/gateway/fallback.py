"""The safe answer of a stopped LLM endpoint, in the shape an OpenAI client reads.

The completion says it is a fallback twice: in the ``x-andon-fallback`` header (the cord's
scope, or the output guard that refused the answer) and in ``system_fingerprint`` (``andon-fallback``), so a caller can tell it
from a model's answer without parsing the text.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from starlette.types import Send


def completion(name: str, content: str) -> dict[str, Any]:
    """A complete chat completion carrying ``content``."""
    return {
        "id": f"chatcmpl-andon-{uuid.uuid4().hex[:20]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": name,
        "system_fingerprint": "andon-fallback",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def chunks(name: str, content: str) -> list[dict[str, Any]]:
    """The same answer as stream chunks: the role and text, then the finish."""
    base = {
        "id": f"chatcmpl-andon-{uuid.uuid4().hex[:20]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": name,
        "system_fingerprint": "andon-fallback",
    }
    return [
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": content},
                    "finish_reason": None,
                }
            ],
        },
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]


async def send_chat(
    send: Send, name: str, fallback: dict[str, Any], *, stream: bool, why: str, worker: str
) -> None:
    """Answer a chat completion with the endpoint's declared fallback; ``why`` goes in the
    ``x-andon-fallback`` header (``stopped:<scope>``, ``guard:<kind>``)."""
    content = str(fallback.get("content", ""))
    headers = [
        (b"x-andon-fallback", why.encode()),
        (b"x-andon-endpoint", name.encode()),
        (b"x-andon-worker", worker.encode()),
    ]
    if not stream:
        body = json.dumps(completion(name, content)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream"), *headers],
        }
    )
    for chunk in chunks(name, content):
        data = f"data: {json.dumps(chunk)}\n\n".encode()
        await send({"type": "http.response.body", "body": data, "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
