"""``andon gateway``: one supervisor process, N worker processes on one listening socket.

The supervisor binds the socket (127.0.0.1 unless told otherwise), starts the workers with
Python's ``spawn`` (each a uvicorn server on the shared socket, uvloop and httptools), starts
again a worker that dies, and stops them all on SIGINT or SIGTERM. Workers only read the
store; the supervisor is where periodic writes would go, so no worker races another.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path

from andon.core.context import Context

log = logging.getLogger("andon.gateway")

DEFAULT_PORT = 8780
RESTART_PAUSE_S = 0.5


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker accepts on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(sock: socket.socket, metrics_dir: str, workers: int) -> None:
    import uvicorn

    os.environ["ANDON_GATEWAY_METRICS_DIR"] = metrics_dir
    os.environ["ANDON_GATEWAY_WORKERS"] = str(workers)  # each holds 1/N of a rate limit
    config = uvicorn.Config(
        "andon.gateway.app:create_app",
        factory=True,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run(sockets=[sock])


def housekeeping(ctx: Context, *, every_s: float = 1.0) -> Callable[[], None]:
    """What the supervisor does between watching workers, as the principal running the
    gateway: record a deployment when an alias a model endpoint serves has moved (promotion,
    rollback), and free the budget reservations of requests whose worker died."""
    from andon.core.errors import Forbidden
    from andon.gateway import spans
    from andon.serve import budgets
    from andon.serve import service as serve

    last = [0.0]
    warned: set[str] = set()

    def tick() -> None:
        now = time.monotonic()
        if now - last[0] < every_s:
            return
        last[0] = now
        try:
            for deployment in serve.sync_deployments(ctx, reason="the gateway saw the alias move"):
                log.warning(
                    "endpoint %s now serves %s v%s",
                    deployment.endpoint,
                    deployment.model,
                    deployment.version,
                )
        except Forbidden as exc:
            if "deploy" not in warned:
                warned.add("deploy")
                log.warning("deployments are not recorded: %s", exc)
        except Exception:
            log.warning("gateway housekeeping failed; trying again", exc_info=True)
        try:
            freed = budgets.expire_leases(ctx.db, ctx.clock)
        except Exception:
            log.warning("gateway housekeeping failed; trying again", exc_info=True)
            return
        if freed:
            log.warning("freed %d budget reservation(s) whose lease passed", freed)
        removed = spans.prune(ctx.settings.home / "telemetry" / "spool")
        if removed:
            log.warning("dropped the %d oldest span spool files (over 256 MB unread)", removed)

    return tick


def ensure_gateway_principal(ctx: Context) -> str | None:
    """Make sure the ``gateway`` service principal exists, holding the ``gateway`` role
    globally (it records guard violations and pulls the cords they trip), created by the
    principal starting the gateway and audited as theirs. Returns None when all is in place
    (or was just made), else why not: the gateway then serves, and logs that violations are
    refused but not recorded."""
    from andon.auth import service as auth
    from andon.core.errors import AndonError, Conflict, Unauthenticated
    from andon.gateway.worker import GATEWAY_PRINCIPAL

    try:
        held = auth.context_for(ctx.db, ctx.settings, GATEWAY_PRINCIPAL).grants
    except Unauthenticated:
        held = None
    if held is not None and any(g.role == "gateway" and g.scope == "global" for g in held):
        return None
    reason = "the gateway records guard violations and pulls the cords they trip"
    try:
        if held is None:
            auth.create_principal(
                ctx,
                GATEWAY_PRINCIPAL,
                kind="service",
                display_name="andon gateway",
                reason=reason,
            )
        auth.bind_role(ctx, GATEWAY_PRINCIPAL, "gateway", reason=reason)
    except Conflict:
        return None  # another gateway made it first
    except AndonError as exc:
        return str(exc)
    return None


class Supervisor:
    """Starts, watches and stops the workers."""

    def __init__(
        self,
        sock: socket.socket,
        workers: int,
        metrics_dir: Path,
        *,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self.sock, self.count, self.metrics_dir = sock, workers, metrics_dir
        self.tick = tick
        self.processes: list[BaseProcess] = []
        self._stopping = False
        self._ctx = multiprocessing.get_context("spawn")

    def _spawn(self) -> BaseProcess:
        process = self._ctx.Process(
            target=_worker, args=(self.sock, str(self.metrics_dir), self.count), daemon=False
        )
        process.start()
        return process

    def run(self) -> None:
        """Serve until a signal stops the gateway."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        self.metrics_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.metrics_dir.glob("*.json"):
            stale.unlink(missing_ok=True)
        self.processes = [self._spawn() for _ in range(self.count)]
        try:
            while not self._stopping:
                time.sleep(RESTART_PAUSE_S)
                for i, process in enumerate(self.processes):
                    if not process.is_alive() and not self._stopping:
                        self.processes[i] = self._spawn()
                if self.tick is not None:
                    self.tick()
        finally:
            self.shutdown()

    def _stop(self, signum: int, frame: object) -> None:
        self._stopping = True

    def shutdown(self) -> None:
        """Ask every worker to finish (SIGTERM), then make sure they have."""
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        self.sock.close()
