"""Export of kept traces to another OTLP/HTTP collector, so andon can sit in front of one.

When ``ANDON_TELEMETRY_EXPORT_URL`` is set, the writer queues every span it keeps (at the
decision, and when a late error overturns a drop) in the team's ``outbound`` table, in the
same transaction that keeps it. :class:`Exporter` sends the queue on in batches as binary
protobuf ``ExportTraceServiceRequest`` bodies, gzip-compressed, to ``URL/v1/traces``, and
removes a batch from the queue only once the collector answered 2xx. Delivery is therefore
at least once: a crash between the answer and the removal sends that batch again, as the
OpenTelemetry Collector's own exporters do.

As OTLP/HTTP specifies, ``429``, ``502``, ``503``, ``504`` and a failed connection are retried
later (after ``Retry-After`` when the collector sends one, else with exponential backoff); any
other answer is final: the batch is dropped and counted as ``refused``. A queue past
:data:`MAX_QUEUED` spans (a collector down for long) drops its oldest spans, counted as
``dropped``. The counts are in each hot file's ``export_totals``.
"""

from __future__ import annotations

import email.utils
import gzip
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from andon.core.errors import Invalid
from andon.telemetry import hot, otlp
from andon.telemetry.hot import names
from andon.telemetry.schema import SPANS

log = logging.getLogger("andon.telemetry")

BATCH_SPANS = 2048
MAX_QUEUED = 1_000_000
TIMEOUT_SECONDS = 10.0
RETRYABLE = frozenset({429, 502, 503, 504})
MAX_BACKOFF_SECONDS = 60.0
_COLUMNS = names(SPANS)


def parse_headers(text: str | None) -> dict[str, str]:
    """Headers written as OpenTelemetry's ``OTEL_EXPORTER_OTLP_HEADERS``: ``k=v,k=v`` with
    URL-encoded values; :class:`Invalid` naming the setting when one is not ``k=v``."""
    headers: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise Invalid(
                "each export header must be key=value (comma-separated)",
                field="ANDON_TELEMETRY_EXPORT_HEADERS",
            )
        headers[urllib.parse.unquote(key.strip()).lower()] = urllib.parse.unquote(value.strip())
    return headers


@dataclass
class ExportReport:
    """What one pass of the exporter did, summed over teams."""

    exported: int = 0
    refused: int = 0
    dropped: int = 0
    rejected: int = 0  # spans the collector took the batch of but rejected (partial success)
    waiting: bool = False  # the collector asked to retry later


class Exporter:
    """Sends the ``outbound`` queues of one andon home's teams to a collector."""

    def __init__(
        self,
        home: Path,
        url: str,
        headers: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.home, self.url = home, url.rstrip("/") + "/v1/traces"
        self.headers = {
            **(headers or {}),
            "content-type": otlp.PROTOBUF,
            "content-encoding": "gzip",
        }
        self.clock = clock
        self.not_before = 0.0
        self.failures = 0

    def run_once(self, max_batches: int = 16) -> ExportReport:
        """Send what is queued, team by team, unless the collector asked to wait."""
        report = ExportReport()
        if self.clock() < self.not_before:
            report.waiting = True
            return report
        for team in hot.teams(self.home):
            for _ in range(max_batches):
                sent = self._batch(team, report)
                if sent < BATCH_SPANS or report.waiting:
                    break
            if report.waiting:
                break
        return report

    def _batch(self, team: str, report: ExportReport) -> int:
        with hot.writing(self.home, team) as con:
            excess = con.execute("SELECT count(*) FROM outbound").fetchall()[0][0] - MAX_QUEUED
            if excess > 0:
                con.execute(
                    "DELETE FROM outbound WHERE (trace_id, span_id) IN (SELECT trace_id, span_id "
                    "FROM outbound ORDER BY queued_ns, trace_id, span_id LIMIT ?)",
                    [excess],
                )
                _count(con, "dropped", excess)
                report.dropped += excess
                log.warning(
                    "team %s: %d queued spans dropped, the collector is behind", team, excess
                )
            batch = con.sql(
                f"SELECT {_COLUMNS} FROM outbound ORDER BY queued_ns, trace_id, span_id LIMIT $1",
                params=[BATCH_SPANS],
            ).to_arrow_table()
        rows = int(batch.num_rows)
        if not rows:
            return 0
        outcome = self._post(gzip.compress(otlp.encode_traces(batch), 6), report)
        if outcome == "retry":
            return 0
        with hot.writing(self.home, team) as con:
            con.register("sent", batch.select(["trace_id", "span_id"]))
            try:
                con.execute(
                    "DELETE FROM outbound WHERE (trace_id, span_id) IN "
                    "(SELECT trace_id, span_id FROM sent)"
                )
            finally:
                con.unregister("sent")
            _count(con, outcome, rows)
        if outcome == "exported":
            report.exported += rows
        else:
            report.refused += rows
        return rows

    def _post(self, body: bytes, report: ExportReport) -> str:
        request = urllib.request.Request(  # noqa: S310 (an operator-configured http(s) URL)
            self.url, data=body, headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
                self._rejected(answer.read(), report)
        except urllib.error.HTTPError as exc:
            if exc.code in RETRYABLE:
                return self._later(f"answered {exc.code}", exc.headers.get("retry-after"), report)
            log.warning("the collector refused a batch of kept spans with %d", exc.code)
            self.failures = 0
            return "refused"
        except (OSError, TimeoutError) as exc:
            return self._later(f"is unreachable ({type(exc).__name__})", None, report)
        self.failures = 0
        return "exported"

    def _rejected(self, body: bytes, report: ExportReport) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        try:
            answer = ExportTraceServiceResponse.FromString(body)
        except Exception:
            return
        rejected = answer.partial_success.rejected_spans
        if rejected:
            report.rejected += rejected
            log.warning(
                "the collector rejected %d exported spans: %s",
                rejected,
                answer.partial_success.error_message[:200],
            )

    def _later(self, why: str, retry_after: str | None, report: ExportReport) -> str:
        self.failures += 1
        pause = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** min(self.failures, 8))
        wait = _seconds(retry_after)
        if wait is not None:
            pause = min(max(wait, 0.0), MAX_BACKOFF_SECONDS * 5)
        self.not_before = self.clock() + pause
        report.waiting = True
        log.warning("the OTLP collector %s; kept spans stay queued, retry in %.1f s", why, pause)
        return "retry"


def _seconds(retry_after: str | None) -> float | None:
    if not retry_after:
        return None
    if retry_after.strip().isdigit():
        return float(retry_after.strip())
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def _count(con: Any, outcome: str, spans: int) -> None:
    con.execute(
        "INSERT INTO export_totals VALUES (?, ?) ON CONFLICT (outcome) DO UPDATE "
        "SET spans = export_totals.spans + excluded.spans",
        [outcome, spans],
    )


def totals(home: Path, team: str) -> dict[str, int]:
    """Exported, refused and dropped spans of ``team`` so far, and how many wait."""
    if not hot.path_of(home, team).exists():
        return {}
    with hot.reading(home, team) as con:
        counts = {
            k: int(v) for k, v in con.execute("SELECT outcome, spans FROM export_totals").fetchall()
        }
        counts["queued"] = int(con.execute("SELECT count(*) FROM outbound").fetchall()[0][0])
    return counts
