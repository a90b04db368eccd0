"""Scaling advice from the gateway's own signals, by Little's law.

Over a window, the arrival rate is ``λ = Δrequests / Δt`` and the mean time in the gateway
``W = Δ(latency sum) / Δ(latency count)``; the mean number of requests inside is
``L = λ·W`` (Little's law: it holds for any stable system, whatever the distributions). One
replica holds ``max_in_flight`` requests per worker, so to run at ``target`` utilisation the
endpoint needs ``ceil(L / (max_in_flight · workers · target))`` replicas, and one more step
while requests are queueing (a queue means the bound is already reached). The same signal
drives an autoscaler: the in-flight gauge per replica, which is what the Kubernetes HPA and the
KEDA objects printed alongside scale on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)$")


@dataclass(frozen=True)
class Sample:
    """What the gateway's ``/metrics`` said about one endpoint at one moment."""

    requests: float
    latency_sum: float
    latency_count: float
    in_flight: float
    queue_depth: float


def sample(text: str, endpoint: str) -> Sample:
    """The endpoint's figures in a Prometheus text exposition."""
    values: dict[str, float] = {}
    requests = 0.0
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        name, labels, value = match.groups()
        if f'endpoint="{endpoint}"' not in labels.split(","):
            continue
        if name == "andon_gateway_requests_total":
            requests += float(value)
        elif "le=" not in labels:
            values[name] = float(value)
    return Sample(
        requests=requests,
        latency_sum=values.get("andon_gateway_request_seconds_sum", 0.0),
        latency_count=values.get("andon_gateway_request_seconds_count", 0.0),
        in_flight=values.get("andon_gateway_in_flight", 0.0),
        queue_depth=values.get("andon_gateway_queue_depth", 0.0),
    )


@dataclass(frozen=True)
class Advice:
    """The figures and the recommendation."""

    endpoint: str
    window_s: float
    arrival_rate: float
    """λ, requests per second."""
    mean_latency_s: float
    """W, seconds."""
    concurrency: float
    """L = λ·W, requests inside the gateway on average."""
    queue_depth: float
    capacity_per_replica: int
    target: float
    replicas: int

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "endpoint": self.endpoint,
            "window_s": self.window_s,
            "arrival_rate": round(self.arrival_rate, 3),
            "mean_latency_ms": round(self.mean_latency_s * 1000, 3),
            "concurrency": round(self.concurrency, 3),
            "queue_depth": self.queue_depth,
            "capacity_per_replica": self.capacity_per_replica,
            "target": self.target,
            "replicas": self.replicas,
        }


def advise(
    endpoint: str,
    before: Sample,
    after: Sample,
    window_s: float,
    *,
    max_in_flight: int,
    workers: int,
    target: float = 0.7,
) -> Advice:
    """Replicas for ``endpoint`` from two samples ``window_s`` apart."""
    rate = max(0.0, after.requests - before.requests) / window_s
    count = after.latency_count - before.latency_count
    latency = (after.latency_sum - before.latency_sum) / count if count > 0 else 0.0
    concurrency = rate * latency
    capacity = max_in_flight * workers
    replicas = max(1, math.ceil(concurrency / (capacity * target)))
    if after.queue_depth > 0:
        replicas += 1
    return Advice(
        endpoint,
        window_s,
        rate,
        latency,
        concurrency,
        after.queue_depth,
        capacity,
        target,
        replicas,
    )


def hpa(advice: Advice, *, deployment: str = "andon-gateway", max_replicas: int = 20) -> str:
    """A Kubernetes HorizontalPodAutoscaler (autoscaling/v2) on the in-flight gauge per pod
    (served to the HPA by a Prometheus adapter as a Pods metric)."""
    per_pod = max(1, math.floor(advice.capacity_per_replica * advice.target))
    return f"""apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {deployment}-{advice.endpoint}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {deployment}}}
  minReplicas: {advice.replicas}
  maxReplicas: {max(max_replicas, advice.replicas)}
  metrics:
    - type: Pods
      pods:
        metric:
          name: andon_gateway_in_flight
          selector: {{matchLabels: {{endpoint: {advice.endpoint}}}}}
        target: {{type: AverageValue, averageValue: "{per_pod}"}}
"""


def keda(
    advice: Advice,
    *,
    deployment: str = "andon-gateway",
    prometheus: str = "http://prometheus:9090",
    max_replicas: int = 20,
) -> str:
    """A KEDA ScaledObject with a Prometheus trigger on the same signal (in flight plus
    queued, summed over the pods)."""
    per_pod = max(1, math.floor(advice.capacity_per_replica * advice.target))
    query = (
        f'sum(andon_gateway_in_flight{{endpoint="{advice.endpoint}"}}) + '
        f'sum(andon_gateway_queue_depth{{endpoint="{advice.endpoint}"}})'
    )
    return f"""apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {deployment}-{advice.endpoint}
spec:
  scaleTargetRef: {{name: {deployment}}}
  minReplicaCount: {advice.replicas}
  maxReplicaCount: {max(max_replicas, advice.replicas)}
  triggers:
    - type: prometheus
      metadata:
        serverAddress: {prometheus}
        query: '{query}'
        threshold: "{per_pod}"
"""
