"""A real gateway (``andon gateway`` as a process, N workers) over a real store, in front of
the loopback OpenAI-compatible server, with principals and tokens made through the services."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai

from andon.auth import service as auth
from andon.core.config import Settings
from andon.core.context import Context
from andon.gateway.loopback import LoopbackLLM
from andon.serve import queries
from andon.serve import service as serve
from andon.store import migrate
from andon.store.db import Database
from tests.server import LOOPBACK_TIMEOUT, free_port

UPSTREAM_KEY = "sk-loopback-test-key-0123456789"
ANDON = Path(sys.executable).parent / "andon"


@dataclass
class Line:
    """The store, its admin, the loopback upstream and the running gateway."""

    admin: Context
    settings: Settings
    upstream: LoopbackLLM
    base: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    workers: set[str] = field(default_factory=set)

    def token(self, principal: str) -> str:
        """A token of ``principal`` (made once)."""
        if principal not in self.tokens:
            self.tokens[principal] = auth.create_token(self.admin, principal)[1]
        return self.tokens[principal]

    def client(self, principal: str = "admin", **kwargs: object) -> openai.OpenAI:
        """The official OpenAI client pointed at the gateway as ``principal``."""
        return openai.OpenAI(
            base_url=self.base + "/v1",
            api_key=self.token(principal),
            max_retries=0,
            timeout=LOOPBACK_TIMEOUT,
            **kwargs,  # type: ignore[arg-type]
        )

    def http(self, principal: str | None = "admin") -> httpx.Client:
        """A plain HTTP client, for what the OpenAI client will not send."""
        headers = {} if principal is None else {"Authorization": f"Bearer {self.token(principal)}"}
        return httpx.Client(base_url=self.base, headers=headers, timeout=LOOPBACK_TIMEOUT)

    def llm(self, directives: str = "", *, team: str = "support", **extra: object) -> str:
        """Apply an LLM endpoint over the loopback (a fresh name, so tests never share state)
        and wait until the gateway serves it; returns its name."""
        name = f"llm-{uuid.uuid4().hex[:8]}"
        model = f"demo-llm+id={name}" + (f"+{directives}" if directives else "")
        lines = [
            f"name: {name}",
            f"team: {team}",
            "kind: llm",
            "upstreams:",
            f"  - {{url: '{self.upstream.url}', model: '{model}', api_key_env: LOOPBACK_KEY}}",
        ]
        lines += [f"{key}: {value}" for key, value in extra.items()]
        serve.apply_endpoint(self.admin, "\n".join(lines) + "\n")
        self.settle()
        return name

    def apply(self, text: str) -> str:
        """Apply endpoint YAML and wait until every worker serves it; returns its name."""
        name = serve.apply_endpoint(self.admin, text).name
        self.settle()
        return name

    def settle(self, timeout: float = 10.0) -> float:
        """Seconds until every worker's snapshot has caught up with the store's last change."""
        target = queries.change_seq(self.admin.db)
        behind = set(self.workers)

        def caught_up() -> bool:
            with httpx.Client(timeout=LOOPBACK_TIMEOUT) as http:
                health = http.get(self.base + "/healthz", headers={"connection": "close"}).json()
            if health["seq"] >= target:
                behind.discard(health["worker"])
            return not behind

        return self.wait_for(caught_up, timeout)

    def models(self) -> set[str]:
        """What ``GET /v1/models`` lists for the admin."""
        with self.http() as http:
            return {m["id"] for m in http.get("/v1/models").json()["data"]}

    def calls(self, name: str) -> int:
        """How many calls endpoint ``name`` made upstream."""
        stats = httpx.get(self.upstream.url.removesuffix("/v1") + "/_stats").json()
        return sum(n for model, n in stats["calls"].items() if f"id={name}" in model.split("+"))

    def wait_for(self, condition: object, timeout: float = 10.0) -> float:
        """Seconds until ``condition()`` held (fails after ``timeout``)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if condition():  # type: ignore[operator]
                return time.monotonic() - start
            time.sleep(0.02)
        raise AssertionError(f"condition not met within {timeout} s")


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANDON_")}
    env.update(
        ANDON_HOME=str(settings.home),
        ANDON_DATABASE_URL=str(settings.database_url),
        LOOPBACK_KEY=UPSTREAM_KEY,
    )
    env.update(extra)
    return env


@contextmanager
def gateway(
    settings: Settings, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes], set[str]]]:
    """``andon gateway`` on a free port until the block ends; yields its base URL."""
    port = free_port()
    log = settings.home / f"gateway-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ANDON), "gateway", "--workers", str(workers), "--port", str(port)],
            env=_env(settings, **(env or {})),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + 60
        while len(seen) < workers and time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"andon gateway exited: {log.read_text()[-2000:]}")
            try:
                with httpx.Client(timeout=2) as http:
                    seen.add(
                        http.get(f"{base}/healthz", headers={"connection": "close"}).json()[
                            "worker"
                        ]
                    )
            except httpx.HTTPError:
                time.sleep(0.1)
        if not seen:
            raise RuntimeError(f"andon gateway did not start: {log.read_text()[-2000:]}")
        yield base, process, seen
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def line(
    db_url: str, home: Path, *, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[Line]:
    """Teams support and fraud-ml; ada contributes to support, cal is a caller bound to one
    endpoint's asset later, ravi views; the loopback upstream wants ``UPSTREAM_KEY``."""
    settings = Settings(home=home, database_url=db_url)
    db = Database.from_settings(settings)
    migrate.upgrade(db)
    auth.bootstrap(db, settings, "admin")
    admin = auth.context_for(db, settings, "admin")
    for team in ("support", "fraud-ml"):
        auth.create_team(admin, team)
    for name, role in {"ada": "contributor", "ravi": "viewer"}.items():
        auth.create_principal(admin, name)
        auth.bind_role(admin, name, role, scope="team", target="support")
    auth.create_principal(admin, "cal", kind="service")
    upstream = LoopbackLLM(key=UPSTREAM_KEY)
    upstream.start()
    try:
        with gateway(settings, workers, env) as (base, process, seen):
            yield Line(admin, settings, upstream, base, process=process, workers=seen)
    finally:
        upstream.stop()
        db.dispose()
