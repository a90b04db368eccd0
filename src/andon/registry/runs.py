"""The Python API for tracking runs::

    import andon

    with andon.start_run("baseline", team="risk") as run:
        run.log_params({"C": 1.0})
        run.use_dataset("dsv_01J...")
        for epoch in range(3):
            run.log_metrics({"loss": 0.5 / (epoch + 1)}, step=epoch)
        run.log_artifact("model.onnx")

Every call goes through :mod:`andon.registry.service` with a :class:`Context` (the local
principal's unless one is passed). The run ends ``finished``; an exception ends it ``failed``
with the error's type, Ctrl-C (``KeyboardInterrupt``) ends it ``killed``, and the exception
propagates either way. While the block runs, a background thread beats the run's heartbeat; a
process killed outright (``SIGKILL``, a lost machine) stops beating, and the run is ended
``killed`` once its lease expires (:mod:`andon.registry.leases`).
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from andon.core.context import Context
from andon.registry import leases, service
from andon.registry.local import local_context
from andon.registry.records import RunRecord

logger = logging.getLogger(__name__)


class Run:
    """A running run: log to it while the ``with`` block lasts."""

    def __init__(self, ctx: Context, record: RunRecord) -> None:
        self._ctx = ctx
        self.id = record.id
        self.name = record.name
        self.team = record.team

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record parameters (each once; values are kept as text)."""
        service.log_to_run(self._ctx, self.id, params=params)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record metric values at ``step`` (default: one past each metric's last step)."""
        service.log_to_run(self._ctx, self.id, metrics=metrics, step=step)

    def log_artifact(self, path: str | Path) -> str:
        """Store a file content-addressed and attach it to the run; returns its digest."""
        record = service.log_to_run(self._ctx, self.id, artifact=Path(path))
        return record.artifacts[Path(path).name]

    def use_dataset(self, version_id: str) -> None:
        """Record that the run read a dataset version (by its id)."""
        service.log_to_run(self._ctx, self.id, datasets=[version_id])

    def record(self) -> RunRecord:
        """The run as stored now."""
        return service.get_run(self._ctx, self.id)


class _Heartbeat(threading.Thread):
    """Beats for a run until stopped, or until the run is no longer running."""

    def __init__(self, ctx: Context, run_id: str) -> None:
        super().__init__(name=f"andon-heartbeat-{run_id}", daemon=True)
        self._ctx = ctx
        self._run_id = run_id
        self._every = leases.beat_interval(ctx.settings.run_lease_seconds)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self._every):
            try:
                if not leases.heartbeat(self._ctx, self._run_id):
                    return
            except Exception:  # a busy or unreachable database: beat again next time
                logger.warning("heartbeat of run %s failed", self._run_id, exc_info=True)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=10)


@contextmanager
def start_run(name: str, *, team: str, ctx: Context | None = None) -> Iterator[Run]:
    """Start a run of ``team``; it ends when the block does (see the module docstring)."""
    ctx = ctx or local_context()
    record = service.create_run(ctx, name, team, git_commit=git_commit(), env_hash=env_hash())
    run = Run(ctx, record)
    beating = _Heartbeat(ctx, run.id)
    beating.start()
    try:
        yield run
    except KeyboardInterrupt:
        beating.stop()
        service.end_run(ctx, run.id, "killed", error="KeyboardInterrupt")
        raise
    except BaseException as exc:
        beating.stop()
        service.end_run(ctx, run.id, "failed", error=type(exc).__name__)
        raise
    beating.stop()
    service.end_run(ctx, run.id, "finished")


def git_commit(cwd: Path | None = None) -> str | None:
    """``git rev-parse HEAD`` of the working directory, or None outside a repository."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) in (40, 64) else None


def env_hash() -> str:
    """SHA-256 of the sorted ``name==version`` of every installed distribution."""
    from importlib.metadata import distributions

    names = sorted({f"{(d.metadata['Name'] or '').lower()}=={d.version}" for d in distributions()})
    return hashlib.sha256("\n".join(names).encode()).hexdigest()
