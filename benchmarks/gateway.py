"""The gateway as its callers feel it: HTTP round trips over loopback, in one run.

Every server is its own process: the loopback OpenAI-compatible backend (``andon demo-llm``),
a 30-line aiohttp pass-through proxy (the thin peer), ``andon gateway`` with N workers, and a
30-line aiohttp server running the same ONNX model (the predict peer). The client is one
aiohttp session per configuration in this process. Rounds interleave the targets so load
drift hits them alike. Printed: p50 and p99 of each target and what the gateway and the thin
proxy add over calling the backend directly, at concurrency 1 and 16, for chat completions,
streaming (time to first byte), embeddings and predict; requests per second of one worker;
how long a pulled cord takes to reach every worker; start-up (installed and with
``PYTHONDONTWRITEBYTECODE=1``) and resident memory of the gateway.

    .venv/bin/python benchmarks/gateway.py [--requests 2000] [--rounds 3] [--workers 2] [--pulls 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server import free_port  # noqa: E402

from andon.auth import service as auth  # noqa: E402
from andon.core.config import Settings  # noqa: E402
from andon.registry import service as registry  # noqa: E402
from andon.serve import service as serve  # noqa: E402
from andon.store import migrate  # noqa: E402
from andon.store.db import Database  # noqa: E402

ANDON = Path(sys.executable).parent / "andon"
ASK = [{"role": "user", "content": "Why was payment 940.00 at 03:00 flagged?"}]
ROW = {"amount": 940.0, "hour": 3.0, "merchant_risk": 0.9}

THIN_PROXY = """
import sys
from aiohttp import ClientSession, TCPConnector, web

UPSTREAM = sys.argv[2]

async def start(app):
    app["s"] = ClientSession(connector=TCPConnector(limit=0))

async def stop(app):
    await app["s"].close()

async def forward(request):
    body = await request.read()
    async with request.app["s"].post(UPSTREAM + request.path, data=body,
                                     headers={"content-type": "application/json"}) as up:
        response = web.StreamResponse(status=up.status,
                                      headers={"content-type": up.headers["content-type"]})
        await response.prepare(request)
        async for chunk in up.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response

app = web.Application()
app.on_startup.append(start)
app.on_cleanup.append(stop)
app.router.add_post("/{tail:.*}", forward)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""

ONNX_SERVER = """
import json, sys
import numpy as np, onnxruntime as ort
from aiohttp import web

options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(sys.argv[2], options, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
features = json.loads(sys.argv[3])

async def predict(request):
    rows = (await request.json())["inputs"]
    x = np.array([[float(r[f]) for f in features] for r in rows], dtype=np.float32)
    label, proba = session.run(None, {name: x})
    return web.json_response({"predictions": label.tolist(), "probabilities": proba.tolist()})

app = web.Application()
app.router.add_post("/predict", predict)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def wait_until_up(url: str, timeout: float = 60) -> float:
    """Poll ``url`` until it answers; seconds it took (RuntimeError after ``timeout``)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            httpx.get(url, timeout=1)
            return time.monotonic() - start
        except httpx.HTTPError:
            time.sleep(0.02)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def process(
    argv: list[str], env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, stopped (SIGTERM, then SIGKILL) when the block ends."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, from /proc."""
    total = 0
    for p in _family(pid):
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _family(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [pid] + ([int(p) for p in children.read_text().split()] if children.exists() else [])


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of ``pids``, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


async def _one(session: aiohttp.ClientSession, url: str, body: dict[str, Any], ttfb: bool) -> float:
    start = time.perf_counter()
    async with session.post(url, json=body) as response:
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status} {await response.text()}")
        if ttfb:
            await response.content.readany()
            elapsed = time.perf_counter() - start
            await response.read()
            return elapsed
        await response.read()
    return time.perf_counter() - start


async def load(
    url: str,
    body: dict[str, Any],
    *,
    requests: int,
    concurrency: int,
    headers: dict[str, str],
    ttfb: bool = False,
) -> tuple[list[float], float]:
    """``requests`` round trips at ``concurrency``; latencies and wall time."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        for _ in range(min(50, requests)):  # warm the connections and the server
            await _one(session, url, body, ttfb)
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                latencies.append(await _one(session, url, body, ttfb))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return latencies, wall


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _model(folder: Path) -> tuple[Path, list[str]]:
    import numpy as np
    from skl2onnx import to_onnx  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    from andon.registry.formats import FEATURE_NAMES_KEY

    features = list(ROW)
    rng = np.random.default_rng(0)
    X = rng.random((500, 3)).astype(np.float32)
    y = (X[:, 2] > 0.5).astype(np.int64)
    proto = to_onnx(
        LogisticRegression().fit(X, y), X[:1], target_opset=17, options={"zipmap": False}
    )
    proto.metadata_props.add(key=FEATURE_NAMES_KEY, value=json.dumps(features))
    path = folder / "scorer.onnx"
    path.write_bytes(proto.SerializeToString())
    return path, features


def _cord_lags(
    settings: Settings, admin: Any, base: str, token: str, pulls: int, workers: int
) -> list[float]:
    lags = []
    headers = {"authorization": f"Bearer {token}", "connection": "close"}
    for i in range(pulls):
        serve.pull_endpoint_cord(admin, "chat", reason=f"bench {i}")
        pulled = time.monotonic()
        refused: set[str] = set()
        last_served = pulled
        while len(refused) < workers and time.monotonic() - pulled < 10:
            answer = httpx.post(
                base + "/v1/embeddings",
                json={"model": "chat", "input": "x"},
                headers=headers,
                timeout=30,
            )
            if answer.status_code == 503:
                refused.add(answer.headers["x-andon-worker"])
            else:
                last_served = time.monotonic()
        lags.append(last_served - pulled)
        serve.release_endpoint_cord(admin, "chat", reason="next")
        time.sleep(0.5)
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pulls", type=int, default=20)
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}")

    folder = Path(tempfile.mkdtemp(prefix="andon-gateway-bench-"))
    settings = Settings(home=folder / "home", database_url=f"sqlite:///{folder / 'andon.db'}")
    db = Database.from_settings(settings)
    migrate.upgrade(db)
    auth.bootstrap(db, settings, "admin")
    admin = auth.context_for(db, settings, "admin")
    auth.create_team(admin, "bench")
    token = auth.create_token(admin, "admin")[1]
    model_path, features = _model(folder)
    registry.register_model(admin, "scorer", team="bench", artifact=model_path)
    registry.set_alias(admin, "scorer@1", "champion")

    ports = {k: free_port() for k in ("llm", "thin", "gateway", "onnx")}
    backend = f"http://127.0.0.1:{ports['llm']}"
    serve.apply_endpoint(
        admin,
        f"name: chat\nteam: bench\nkind: llm\nretries: 0\n"
        f"limits: {{max_in_flight: 256, max_queue: 256}}\n"
        f"upstreams: [{{url: '{backend}/v1', model: demo-llm}}]\n",
    )
    serve.apply_endpoint(
        admin,
        "name: scorer\nteam: bench\nkind: model\nmodel: scorer\n"
        "limits: {max_in_flight: 256, max_queue: 256}\n",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANDON_")}
    env.update(ANDON_HOME=str(settings.home), ANDON_DATABASE_URL=str(settings.database_url))
    (folder / "thin.py").write_text(textwrap.dedent(THIN_PROXY))
    (folder / "onnx_server.py").write_text(textwrap.dedent(ONNX_SERVER))

    gw_argv = [
        str(ANDON),
        "gateway",
        "--workers",
        str(args.workers),
        "--port",
        str(ports["gateway"]),
    ]
    with (
        process([str(ANDON), "demo-llm", "--port", str(ports["llm"])], env),
        process([sys.executable, str(folder / "thin.py"), str(ports["thin"]), backend], env),
        process(
            [
                sys.executable,
                str(folder / "onnx_server.py"),
                str(ports["onnx"]),
                str(model_path),
                json.dumps(features),
            ],
            env,
        ),
    ):
        wait_until_up(backend + "/v1/models")
        startups = {}
        for label, extra in (
            ("installed", {}),
            ("PYTHONDONTWRITEBYTECODE=1", {"PYTHONDONTWRITEBYTECODE": "1"}),
        ):
            start = time.monotonic()
            with process(gw_argv, {**env, **extra}) as gw:
                wait_until_up(f"http://127.0.0.1:{ports['gateway']}/healthz")
                startups[label] = time.monotonic() - start
                if extra:
                    continue
                gateway_pid = gw.pid
                time.sleep(1)
                rss = rss_mb(gateway_pid)
        with process(gw_argv, env) as gw:
            wait_until_up(f"http://127.0.0.1:{ports['gateway']}/healthz")
            time.sleep(1)
            gw_base = f"http://127.0.0.1:{ports['gateway']}"
            auth_h = {"authorization": f"Bearer {token}"}
            chat = {"model": "chat", "messages": ASK, "max_tokens": 16}
            targets: dict[str, list[tuple[str, str, dict[str, Any], dict[str, str]]]] = {
                "chat": [
                    (
                        "backend",
                        backend + "/v1/chat/completions",
                        {**chat, "model": "demo-llm"},
                        {},
                    ),
                    (
                        "thin aiohttp proxy",
                        f"http://127.0.0.1:{ports['thin']}/v1/chat/completions",
                        {**chat, "model": "demo-llm"},
                        {},
                    ),
                    ("andon gateway", gw_base + "/v1/chat/completions", chat, auth_h),
                ],
                "stream (first byte)": [
                    (
                        "backend",
                        backend + "/v1/chat/completions",
                        {**chat, "model": "demo-llm", "stream": True},
                        {},
                    ),
                    (
                        "thin aiohttp proxy",
                        f"http://127.0.0.1:{ports['thin']}/v1/chat/completions",
                        {**chat, "model": "demo-llm", "stream": True},
                        {},
                    ),
                    (
                        "andon gateway",
                        gw_base + "/v1/chat/completions",
                        {**chat, "stream": True},
                        auth_h,
                    ),
                ],
                "embeddings": [
                    (
                        "backend",
                        backend + "/v1/embeddings",
                        {"model": "demo-llm", "input": "card"},
                        {},
                    ),
                    (
                        "andon gateway",
                        gw_base + "/v1/embeddings",
                        {"model": "chat", "input": "card"},
                        auth_h,
                    ),
                ],
                "predict (ONNX)": [
                    (
                        "aiohttp + onnxruntime",
                        f"http://127.0.0.1:{ports['onnx']}/predict",
                        {"inputs": [ROW]},
                        {},
                    ),
                    (
                        "andon gateway",
                        gw_base + "/v1/endpoints/scorer/predict",
                        {"inputs": [ROW]},
                        auth_h,
                    ),
                ],
            }
            results: dict[tuple[str, int, str], list[float]] = {}
            walls: dict[tuple[str, int, str], list[float]] = {}
            for round_ in range(args.rounds):
                for kind, rows in targets.items():
                    for concurrency in (1, 16):
                        order = rows[round_ % len(rows) :] + rows[: round_ % len(rows)]
                        for label, url, body, headers in order:
                            lat, wall = asyncio.run(
                                load(
                                    url,
                                    body,
                                    requests=args.requests,
                                    concurrency=concurrency,
                                    headers=headers,
                                    ttfb=kind.startswith("stream"),
                                )
                            )
                            results.setdefault((kind, concurrency, label), []).extend(lat)
                            walls.setdefault((kind, concurrency, label), []).append(
                                args.requests / wall
                            )
            # One worker's throughput: the gateway at concurrency 64 with a single worker.
            lags = _cord_lags(settings, admin, gw_base, token, args.pulls, args.workers)
        with process(
            [str(ANDON), "gateway", "--workers", "1", "--port", str(ports["gateway"])], env
        ) as one:
            wait_until_up(f"http://127.0.0.1:{ports['gateway']}/healthz")
            time.sleep(1)
            one_rps = []
            direct_rps = []
            cpu_per_request = []
            for _ in range(args.rounds):
                worker_pids = _family(one.pid)[1:]
                cpu_before = cpu_seconds(worker_pids)
                _, wall = asyncio.run(
                    load(
                        f"http://127.0.0.1:{ports['gateway']}/v1/chat/completions",
                        {"model": "chat", "messages": ASK, "max_tokens": 16},
                        requests=args.requests,
                        concurrency=64,
                        headers={"authorization": f"Bearer {token}"},
                    )
                )
                one_rps.append(args.requests / wall)
                # The requests themselves plus the 50 warm-up ones.
                cpu_per_request.append(
                    (cpu_seconds(worker_pids) - cpu_before) / (args.requests + 50)
                )
                _, wall = asyncio.run(
                    load(
                        backend + "/v1/chat/completions",
                        {"model": "demo-llm", "messages": ASK, "max_tokens": 16},
                        requests=args.requests,
                        concurrency=64,
                        headers={},
                    )
                )
                direct_rps.append(args.requests / wall)

    print(f"load after: {os.getloadavg()[0]:.2f}")
    print("\n| traffic | conc | target | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, rows in targets.items():
        for concurrency in (1, 16):
            base_lat = results[(kind, concurrency, rows[0][0])]
            b50, b99 = pct(base_lat, 0.5), pct(base_lat, 0.99)
            for label, *_ in rows:
                lat = results[(kind, concurrency, label)]
                p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
                added = (
                    ""
                    if label == rows[0][0]
                    else f"{(p50 - b50) * 1000:+.2f} | {(p99 - b99) * 1000:+.2f}"
                )
                if not added:
                    added = "(baseline) | "
                rps = statistics.median(walls[(kind, concurrency, label)])
                print(
                    f"| {kind} | {concurrency} | {label} | {p50 * 1000:.2f} | {p99 * 1000:.2f} | {added} | {rps:.0f} |"
                )
    print(
        f"\none worker, concurrency 64: {statistics.median(one_rps):.0f} req/s through the gateway, "
        f"{statistics.median(direct_rps):.0f} req/s to the backend directly (client, backend and "
        "gateway share the cores)"
    )
    cpu = statistics.median(cpu_per_request)
    print(
        f"CPU per request in the worker process: {cpu * 1e6:.0f} us, so one worker on a core of "
        f"its own serves about {1 / cpu:.0f} req/s"
    )
    print(
        f"cord to every one of {args.workers} workers over {args.pulls} pulls: "
        f"p50 {pct(lags, 0.5) * 1000:.0f} ms, p99 {pct(lags, 0.99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms"
    )
    print(
        "start-up to the first answer: " + ", ".join(f"{k} {v:.2f} s" for k, v in startups.items())
    )
    print(f"resident memory, supervisor and {args.workers} workers: {rss:.0f} MB")


if __name__ == "__main__":
    main()
