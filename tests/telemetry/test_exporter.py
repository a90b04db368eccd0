"""Export of kept traces to another collector: a loopback OTLP/HTTP receiver speaking the protocol."""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from andon.core.config import load_settings
from andon.core.context import Context
from andon.core.errors import Invalid
from andon.telemetry import exporter, spool
from andon.telemetry.exporter import Exporter, parse_headers
from andon.telemetry.pipeline import Pipeline
from andon.telemetry.sampling import parse
from andon.telemetry.writer import Writer
from tests.telemetry.rows import span_id, spans, trace_id

NOW = 1_796_000_000 * 1_000_000_000
ERRORS_ONLY = parse({"decision_wait": "10s", "late_error_window": "10m", "policies": []})


@dataclass
class Collector:
    """A loopback OTLP/HTTP trace receiver that answers what a test scripts."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[ExportTraceServiceRequest] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    rejected: int = 0
    url: str = ""

    def spans(self) -> list[tuple[str, str]]:
        return sorted(
            (s.trace_id.hex(), s.span_id.hex())
            for request in self.received
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for s in ss.spans
        )


@pytest.fixture
def collector() -> Iterator[Collector]:
    state = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            if (
                self.path != "/v1/traces"
                or self.headers["content-type"] != "application/x-protobuf"
            ):
                self.send_response(404)
                self.end_headers()
                return
            status, extra = state.answers.pop(0) if state.answers else (200, {})
            if status == 200:
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                state.received.append(ExportTraceServiceRequest.FromString(body))
                state.headers.append({k.lower(): v for k, v in self.headers.items()})
                answer = ExportTraceServiceResponse()
                if state.rejected:
                    answer.partial_success.rejected_spans = state.rejected
                    answer.partial_success.error_message = "too old"
                payload = answer.SerializeToString()
            else:
                payload = b""
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _fold(home: Path, rows: list[dict[str, object]]) -> None:
    spool.write(home, "shop", "spans", spans(rows, team="shop"))
    Writer(home, lambda _: ERRORS_ONLY, lambda _: {}, clock=lambda: NOW, export=True).run_once()


ERROR_TRACE = [{"trace": 1, "span": 1, "start": NOW, "status": "error"},
               {"trace": 1, "span": 2, "parent": 1, "start": NOW}]  # fmt: skip
HEALTHY_TRACE = [{"trace": 2, "span": 3, "start": NOW}]


def test_kept_traces_are_exported_and_dropped_ones_are_not(
    tmp_path: Path, collector: Collector
) -> None:
    _fold(tmp_path, ERROR_TRACE + HEALTHY_TRACE)
    done = Exporter(tmp_path, collector.url, {"authorization": "Bearer s3cret"}).run_once()
    assert done.exported == 2
    assert collector.spans() == [(trace_id(1), span_id(1)), (trace_id(1), span_id(2))]
    assert collector.headers[0]["authorization"] == "Bearer s3cret"
    assert collector.headers[0]["content-encoding"] == "gzip"
    assert exporter.totals(tmp_path, "shop") == {"exported": 2, "queued": 0}
    assert Exporter(tmp_path, collector.url).run_once().exported == 0  # nothing sent twice


def test_a_late_error_exports_the_trace_it_overturns(tmp_path: Path, collector: Collector) -> None:
    _fold(tmp_path, HEALTHY_TRACE)
    _fold(tmp_path, [{"trace": 2, "span": 4, "parent": 3, "start": NOW, "status": "error"}])
    Exporter(tmp_path, collector.url).run_once()
    assert collector.spans() == [(trace_id(2), span_id(3)), (trace_id(2), span_id(4))]


@pytest.mark.parametrize("answer", [(503, {"retry-after": "7"}), (429, {}), (502, {})])
def test_a_collector_that_asks_to_wait_loses_nothing(
    tmp_path: Path, collector: Collector, answer: tuple[int, dict[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    _fold(tmp_path, ERROR_TRACE)
    clock = Clock()
    sender = Exporter(tmp_path, collector.url, {"authorization": "Bearer s3cret"}, clock=clock)
    collector.answers.append(answer)
    with caplog.at_level(logging.DEBUG, logger="andon"):
        first = sender.run_once()
    assert first.waiting and first.exported == 0 and collector.received == []
    assert exporter.totals(tmp_path, "shop")["queued"] == 2
    assert sender.run_once().waiting  # before the pause is over, nothing is tried
    clock.now += 7.0 if answer[1] else 1.0
    assert sender.run_once().exported == 2
    assert collector.spans() == [(trace_id(1), span_id(1)), (trace_id(1), span_id(2))]
    assert "s3cret" not in caplog.text


def test_an_unreachable_collector_loses_nothing(tmp_path: Path, collector: Collector) -> None:
    _fold(tmp_path, ERROR_TRACE)
    clock = Clock()
    down = Exporter(tmp_path, "http://127.0.0.1:9", clock=clock)
    assert down.run_once().waiting
    assert exporter.totals(tmp_path, "shop")["queued"] == 2
    assert Exporter(tmp_path, collector.url).run_once().exported == 2


def test_a_final_refusal_drops_the_batch_and_counts_it(
    tmp_path: Path, collector: Collector
) -> None:
    _fold(tmp_path, ERROR_TRACE)
    collector.answers.append((400, {}))
    done = Exporter(tmp_path, collector.url).run_once()
    assert (done.refused, done.exported, done.waiting) == (2, 0, False)
    assert exporter.totals(tmp_path, "shop") == {"refused": 2, "queued": 0}


def test_partial_success_is_counted(tmp_path: Path, collector: Collector) -> None:
    _fold(tmp_path, ERROR_TRACE)
    collector.rejected = 1
    assert Exporter(tmp_path, collector.url).run_once().rejected == 1


def test_a_queue_past_its_cap_drops_its_oldest_spans(
    tmp_path: Path, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fold(tmp_path, ERROR_TRACE)
    _fold(tmp_path, [{"trace": 5, "span": 9, "start": NOW + 1, "status": "error"}])
    monkeypatch.setattr(exporter, "MAX_QUEUED", 1)
    done = Exporter(tmp_path, collector.url).run_once()
    assert (done.dropped, done.exported) == (2, 1)
    assert collector.spans() == [(trace_id(5), span_id(9))]


def test_without_an_export_url_nothing_is_queued(tmp_path: Path) -> None:
    spool.write(tmp_path, "shop", "spans", spans(ERROR_TRACE, team="shop"))
    Writer(tmp_path, lambda _: ERRORS_ONLY, lambda _: {}, clock=lambda: NOW).run_once()
    assert exporter.totals(tmp_path, "shop") == {"queued": 0}


def test_export_settings_are_checked() -> None:
    assert parse_headers("Authorization=Bearer%20x, x-scope=a") == {
        "authorization": "Bearer x",
        "x-scope": "a",
    }
    with pytest.raises(Invalid, match="key=value") as caught:
        parse_headers("Authorization")
    assert caught.value.field == "ANDON_TELEMETRY_EXPORT_HEADERS"
    with pytest.raises(Invalid, match="http") as refused:
        load_settings(telemetry_export_url="ftp://collector")
    assert refused.value.field == "ANDON_TELEMETRY_EXPORT_URL"


def test_the_pipeline_exports_when_the_url_is_set(admin: Context, collector: Collector) -> None:
    from pydantic import SecretStr

    cfg = admin.settings.model_copy(update={
        "telemetry_export_url": collector.url,
        "telemetry_export_headers": SecretStr("authorization=Bearer%20k"),
    })  # fmt: skip
    home = Path(cfg.home)
    spool.write(home, "shop", "spans", spans(ERROR_TRACE, team="shop"))
    pipeline = Pipeline(admin.db, cfg)
    pipeline.run_once()
    assert pipeline.exported.exported == 2
    assert collector.headers[0]["authorization"] == "Bearer k"
    assert Pipeline(admin.db, admin.settings).exporter is None
