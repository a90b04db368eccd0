"""An OpenAI-compatible server on 127.0.0.1 for the demo, the tests and the benchmark.

It answers deterministically (no model, nothing downloaded) and misbehaves on request. The
model name it receives carries directives joined by ``+``::

    demo-llm                  an answer: "You said: <the last user message>"
    demo-llm+sleep=50         wait 50 ms first
    demo-llm+fail=2           the first 2 calls with this exact name answer 500
    demo-llm+status=400       always answer this status (an OpenAI-style error body)
    demo-llm+hang             never answer
    demo-llm+garbage          200 with a body that is not JSON
    demo-llm+reset            close the connection without answering
    demo-llm+chunk=20         when streaming, wait 20 ms between chunks
    demo-llm+long=500         500 more words, whatever max_tokens says
    demo-llm+say=Hi%20there   answer this text (percent-encoded: %20 a space, %2B a plus)

``GET /_stats`` returns the calls counted per model name and how many carried the expected
key (when the server was started with one, a request without it gets 401).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import unquote

from aiohttp import web


def _directives(model: str) -> tuple[str, dict[str, str]]:
    name, *rest = model.split("+")
    out: dict[str, str] = {}
    for part in rest:
        key, _, value = part.partition("=")
        out[key] = value
    return name, out


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


class LoopbackLLM:
    """The server; ``start()`` runs it on a thread of its own and returns its base URL."""

    def __init__(self, *, key: str | None = None, port: int = 0) -> None:
        self.key, self.port = key, port
        self.calls: Counter[str] = Counter()
        self.authorized = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/_stats", self._stats)
        return app

    @property
    def url(self) -> str:
        """The base URL an endpoint names (``.../v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> str:
        """Serve on a background thread; returns :attr:`url` once listening."""
        self._thread = threading.Thread(target=self._serve, daemon=True, name="loopback-llm")
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the loopback LLM did not start")
        return self.url

    def stop(self) -> None:
        """Stop serving."""
        if self._loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.5)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=1024)
        self._loop.run_until_complete(site.start())
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])
        self._started.set()
        self._loop.run_forever()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    async def _guard(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, str]] | web.Response:
        if self.key is not None:
            if request.headers.get("Authorization") != f"Bearer {self.key}":
                return _error(401, "invalid api key", "invalid_request_error")
            self.authorized += 1
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "body is not JSON", "invalid_request_error")
        model = str(body.get("model", ""))
        self.calls[model] += 1
        _, says = _directives(model)
        if "sleep" in says:
            await asyncio.sleep(int(says["sleep"]) / 1000)
        if "hang" in says:
            await asyncio.sleep(120)
        if "reset" in says and request.transport is not None:
            request.transport.abort()
            raise web.HTTPInternalServerError
        if "fail" in says and self.calls[model] <= int(says["fail"]):
            return _error(500, "the loopback failed on purpose", "server_error")
        if "status" in says:
            return _error(
                int(says["status"]), "the loopback refused on purpose", "invalid_request_error"
            )
        if "garbage" in says:
            return web.Response(status=200, body=b"<html>not json", content_type="text/html")
        return body, says

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        guarded = await self._guard(request)
        if isinstance(guarded, web.Response):
            return guarded
        body, says = guarded
        text = unquote(says["say"]) if "say" in says else f"You said: {_last_user_text(body)}"
        words = text.split(" ")
        prompt_tokens = max(
            1,
            sum(
                len(str(m.get("content", "")))
                for m in body.get("messages") or []
                if isinstance(m, dict)
            )
            // 4,
        )
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        if "long" in says:  # an upstream that ignores max_tokens
            words += [f"w{i}" for i in range(int(says["long"]))]
        elif isinstance(max_tokens, int) and max_tokens > 0:
            words = words[:max_tokens]
        model = str(body.get("model"))
        created = int(time.time())
        ident = (
            "chatcmpl-" + hashlib.sha256(f"{model}{self.calls[model]}".encode()).hexdigest()[:24]
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(words),
            "total_tokens": prompt_tokens + len(words),
        }
        if body.get("stream") is True:
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            delay = int(says.get("chunk", "0")) / 1000
            for i, word in enumerate(words):
                piece = word if i == 0 else " " + word
                delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
                chunk = {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                }
                await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
                if delay:
                    await asyncio.sleep(delay)
            last = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
            if (body.get("stream_options") or {}).get("include_usage"):
                last["usage"] = usage
            await response.write(f"data: {json.dumps(last)}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
            return response
        return web.json_response(
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": " ".join(words)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            }
        )

    async def _embeddings(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request)
        if isinstance(guarded, web.Response):
            return guarded
        body, _ = guarded
        inputs = body.get("input")
        items = inputs if isinstance(inputs, list) else [inputs]
        data = []
        for i, item in enumerate(items):
            digest = hashlib.sha256(str(item).encode()).digest()
            data.append(
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": [round(b / 255 - 0.5, 6) for b in digest[:8]],
                }
            )
        tokens = sum(max(1, len(str(x)) // 4) for x in items)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": "demo-llm", "object": "model", "created": 0, "owned_by": "loopback"}
                ],
            }
        )

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response({"calls": dict(self.calls), "authorized": self.authorized})


def _error(status: int, message: str, kind: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": kind, "code": None}}, status=status
    )


def serve_forever(port: int, key: str | None = None) -> None:
    """Run the server in the foreground (``andon demo-llm``)."""
    server = LoopbackLLM(key=key, port=port)
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
