"""Counters, gauges and latency histograms of the gateway, in Prometheus text format.

Each worker counts in memory and writes its figures to ``<dir>/<pid>.json`` once a second
(off the request path); ``GET /metrics`` on any worker sums the files of the workers alive in
the last ``STALE_S`` seconds, so a scrape sees the whole gateway whichever worker answers.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from andon.serve.records import BudgetRecord

BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STALE_S = 10.0
COUNTERS = {
    "andon_gateway_requests_total": "Requests answered, by endpoint and HTTP status.",
    "andon_gateway_retries_total": "Upstream attempts retried, by endpoint.",
    "andon_gateway_shed_total": "Requests refused at once because the endpoint was full.",
    "andon_gateway_rate_limited_total": "Requests refused by a rate limit, by endpoint.",
    "andon_gateway_stopped_total": "Requests refused or answered by the fallback: a cord.",
    "andon_gateway_spend_nanodollars_total": "What served requests were charged (1e-9 USD).",
    "andon_gateway_spans_dropped_total": "Request spans dropped because the spool fell behind.",
    "andon_gateway_guard_violations_total": "Answers an output guard refused, by endpoint.",
    "andon_gateway_shadow_skipped_total": "Requests not shadowed: the shadow runs were behind.",
}
GAUGES = {
    "andon_gateway_in_flight": "Requests being served now, by endpoint.",
    "andon_gateway_queue_depth": "Requests waiting for a slot, by endpoint.",
    "andon_gateway_slo_p95_seconds": "The endpoint's latency objective: p95 within this.",
}
TARGETS = {"andon_gateway_slo_p95_seconds"}
HISTOGRAM = "andon_gateway_request_seconds"


class Metrics:
    """One worker's figures."""

    def __init__(self) -> None:
        self.counters: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.gauges: dict[str, dict[str, float]] = defaultdict(dict)
        self.hist: dict[str, list[float]] = {}
        self.sums: dict[str, float] = defaultdict(float)

    def count(self, name: str, labels: str, by: float = 1.0) -> None:
        """Add to a counter; ``labels`` is the rendered label set, e.g. ``endpoint="x"``."""
        self.counters[name][labels] += by

    def observe(self, labels: str, seconds: float) -> None:
        """Record one request's latency."""
        counts = self.hist.setdefault(labels, [0.0] * (len(BUCKETS_S) + 1))
        for i, bound in enumerate(BUCKETS_S):
            if seconds <= bound:
                counts[i] += 1
                break
        else:
            counts[-1] += 1
        self.sums[labels] += seconds

    def set_gauge(self, name: str, labels: str, value: float) -> None:
        """Set a gauge."""
        self.gauges[name][labels] = value

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "counters": self.counters,
            "gauges": self.gauges,
            "hist": self.hist,
            "sums": self.sums,
        }

    def dump(self, directory: Path) -> None:
        """Write this worker's figures where the others read them (atomically)."""
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{os.getpid()}.tmp"
        tmp.write_text(json.dumps(self.as_dict()))
        tmp.replace(directory / f"{os.getpid()}.json")


def label(**values: str) -> str:
    """A rendered label set with escaped values."""
    return ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in values.items()
    )


def gather(directory: Path, own: Metrics) -> list[dict[str, Any]]:
    """This worker's live figures and the other live workers' last dumps."""
    out = [own.as_dict()]
    now = time.time()
    me = f"{os.getpid()}.json"
    for path in directory.glob("*.json") if directory.is_dir() else ():
        if path.name == me:
            continue
        try:
            if now - path.stat().st_mtime <= STALE_S:
                out.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # a worker that just exited, or a file being replaced
    return out


def render(workers: list[dict[str, Any]]) -> str:
    """The Prometheus text exposition of the sum over ``workers``."""
    lines: list[str] = []
    for name, help_text in COUNTERS.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
        total: dict[str, float] = defaultdict(float)
        for w in workers:
            for labels, value in w["counters"].get(name, {}).items():
                total[labels] += value
        lines += [f"{name}{{{k}}} {_num(v)}" for k, v in sorted(total.items())]
    for name, help_text in GAUGES.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        total = defaultdict(float)
        for w in workers:
            for labels, value in w["gauges"].get(name, {}).items():
                # A target is the same on every worker; a level adds up over them.
                total[labels] = (
                    max(total[labels], value) if name in TARGETS else total[labels] + value
                )
        lines += [f"{name}{{{k}}} {_num(v)}" for k, v in sorted(total.items())]
    lines += [
        f"# HELP {HISTOGRAM} Time from request to the last byte of the response.",
        f"# TYPE {HISTOGRAM} histogram",
    ]
    hist: dict[str, list[float]] = {}
    sums: dict[str, float] = defaultdict(float)
    for w in workers:
        for labels, counts in w["hist"].items():
            acc = hist.setdefault(labels, [0.0] * (len(BUCKETS_S) + 1))
            for i, c in enumerate(counts):
                acc[i] += c
            sums[labels] += w["sums"].get(labels, 0.0)
    for labels, counts in sorted(hist.items()):
        running = 0.0
        for bound, c in zip((*BUCKETS_S, float("inf")), counts, strict=True):
            running += c
            le = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(f'{HISTOGRAM}_bucket{{{labels},le="{le}"}} {_num(running)}')
        lines.append(f"{HISTOGRAM}_sum{{{labels}}} {sums[labels]!r}")
        lines.append(f"{HISTOGRAM}_count{{{labels}}} {_num(running)}")
    return "\n".join(lines) + "\n"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


BUDGET_LEFT = "andon_gateway_budget_left_nanodollars"


def budgets_left(windows: list[BudgetRecord]) -> str:
    """The gauge of what is left of each budget's current window (from the ledger)."""
    lines = [
        f"# HELP {BUDGET_LEFT} What is left of a budget's window (1e-9 USD).",
        f"# TYPE {BUDGET_LEFT} gauge",
    ]
    for w in windows:
        labels = label(endpoint=w.endpoint, scope=w.scope, key=w.key, period=w.period)
        lines.append(f"{BUDGET_LEFT}{{{labels}}} {w.left_nanos}")
    return "\n".join(lines) + "\n"
