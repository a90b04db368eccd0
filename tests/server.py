"""A real andon server on a free loopback port, in a background thread, for HTTP tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from andon.api.app import create_app
from andon.core.context import Context

LOOPBACK_TIMEOUT = 60.0
"""Seconds a test waits for the loopback server: httpx's 5 s default has run out on a loaded
2-core CI machine (a request there waited for the suite's other worker)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(ctx: Context) -> Iterator[str]:
    """Serve the app for ``ctx``'s database and clock; yields the base URL."""
    with serving(create_app(ctx.settings, db=ctx.db, clock=ctx.clock)) as base:  # type: ignore[arg-type]
        yield base


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve an ASGI app that answers ``GET /healthz``; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:  # pragma: no cover - only when the server cannot start
        raise RuntimeError("andon test server did not start")
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
