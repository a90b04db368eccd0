"""`andon serve` binds loopback by default, answers over HTTP and stops on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx

from tests.cli.conftest import ANDON, Run
from tests.server import free_port


def test_serve_answers_and_stops_on_interrupt(run: Run, andon_env: dict[str, str]) -> None:
    assert run("init").returncode == 0
    port = free_port()
    proc = subprocess.Popen(
        [ANDON, "serve", "--port", str(port)],
        env=andon_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert health.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json() == {"status": "ready"}
        openapi = httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=5)
        assert openapi.json()["info"]["title"] == "andon"
        denied = httpx.get(f"http://127.0.0.1:{port}/api/v1/teams", timeout=5)
        assert denied.status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}/" in out
    assert "Traceback" not in err


def test_serve_refuses_a_bad_host(run: Run) -> None:
    run("init")
    proc = run("serve", "--host", "example.invalid")
    assert proc.returncode == 2
    assert "ANDON_HOST" in proc.stderr
