"""Scaling advice: Little's law on the gateway's own metrics, and the autoscaler objects."""

from __future__ import annotations

import subprocess
import threading

import httpx
import yaml

from andon.gateway import scaling
from tests.gateway.harness import ANDON, Line, _env

ASK = [{"role": "user", "content": "hi"}]


def test_littles_law_from_two_samples() -> None:
    before = scaling.Sample(
        requests=100, latency_sum=5.0, latency_count=100, in_flight=0, queue_depth=0
    )
    after = scaling.Sample(
        requests=1100, latency_sum=55.0, latency_count=1100, in_flight=4, queue_depth=0
    )
    advice = scaling.advise("x", before, after, 10.0, max_in_flight=8, workers=2, target=0.5)
    # λ = 100 req/s, W = 50 ms, L = 5; a replica holds 16, at 50 % 8: one replica.
    assert (advice.arrival_rate, advice.mean_latency_s, advice.concurrency) == (100.0, 0.05, 5.0)
    assert advice.replicas == 1
    busy = scaling.advise("x", before, after, 1.0, max_in_flight=8, workers=2, target=0.5)
    assert busy.concurrency == 50.0 and busy.replicas == 7  # ceil(50 / 8)
    queued = scaling.advise(
        "x",
        before,
        scaling.Sample(1100, 55.0, 1100, 16, 3),
        1.0,
        max_in_flight=8,
        workers=2,
        target=0.5,
    )
    assert queued.replicas == 8, "a queue means the bound is reached: one step more"


def test_the_autoscaler_objects_scale_on_the_same_signal() -> None:
    advice = scaling.advise(
        "fraud-scorer",
        scaling.Sample(0, 0, 0, 0, 0),
        scaling.Sample(0, 0, 0, 0, 0),
        1.0,
        max_in_flight=32,
        workers=2,
    )
    hpa = yaml.safe_load(scaling.hpa(advice))
    assert hpa["kind"] == "HorizontalPodAutoscaler" and hpa["apiVersion"] == "autoscaling/v2"
    metric = hpa["spec"]["metrics"][0]["pods"]
    assert metric["metric"]["name"] == "andon_gateway_in_flight"
    assert metric["target"]["averageValue"] == "44"  # 64 per replica at 70 %
    keda = yaml.safe_load(scaling.keda(advice))
    trigger = keda["spec"]["triggers"][0]
    assert (
        trigger["type"] == "prometheus"
        and 'endpoint="fraud-scorer"' in trigger["metadata"]["query"]
    )


def test_scale_advice_reads_a_running_gateway(gw: Line) -> None:
    name = gw.llm("sleep=20", limits="{max_in_flight: 2, max_queue: 64}")
    stop = threading.Event()

    def traffic() -> None:
        with gw.http() as http:
            while not stop.is_set():
                http.post("/v1/chat/completions", json={"model": name, "messages": ASK})

    threads = [threading.Thread(target=traffic) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        done = subprocess.run(
            [
                str(ANDON),
                "endpoint",
                "scale-advice",
                name,
                "--gateway",
                gw.base,
                "--window",
                "2",
                "-f",
                "json",
            ],
            env={**_env(gw.settings), "ANDON_PRINCIPAL": "admin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert done.returncode == 0, done.stderr
    advice = yaml.safe_load(done.stdout)
    assert advice["arrival_rate"] > 10
    assert advice["mean_latency_ms"] >= 20
    # 4 callers keep about 4 requests inside; a replica of 2 workers holds 4 (at 70 %: 2.8).
    assert advice["concurrency"] > 1.5
    assert advice["replicas"] >= 2
    refused = subprocess.run(
        [
            str(ANDON),
            "endpoint",
            "scale-advice",
            name,
            "--gateway",
            "http://127.0.0.1:9",
            "--window",
            "0.5",
        ],
        env=_env(gw.settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "cannot read http://127.0.0.1:9/metrics" in refused.stderr
    assert httpx.get(gw.base + "/healthz").status_code == 200
