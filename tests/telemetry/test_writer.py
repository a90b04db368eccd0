"""The writer: spool to hot file, decisions that survive restarts, late spans, no double folds."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.core.errors import Conflict
from andon.telemetry import hot, spool
from andon.telemetry.sampling import ERRORS, LATE_ERROR, parse
from andon.telemetry.writer import Writer, exclusive
from tests.telemetry.rows import span_id, spans, trace_id

S = 1_000_000_000
NOW = 1_796_000_000 * S
NONE_HEALTHY = parse(
    {"decision_wait": "10s", "late_error_window": "10m",
     "policies": [{"name": "slow", "type": "latency", "latency": {"threshold_ms": 1000}}]}
)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


def writer(home: Path, clock: Clock) -> Writer:
    return Writer(home, lambda _: NONE_HEALTHY, lambda _: {}, clock=clock)


def stored(home: Path) -> list[tuple[str, str]]:
    with hot.reading(home, "home") as con:
        return sorted(con.execute("SELECT trace_id, span_id FROM spans").fetchall())


def test_a_root_decides_its_trace_and_late_spans_follow(tmp_path: Path) -> None:
    clock = Clock()
    w = writer(tmp_path, clock)
    spool.write(tmp_path, "home", "spans", spans([
        {"trace": 1, "span": 1, "parent": 0, "start": NOW}, {"trace": 1, "span": 0, "ms": 2000, "start": NOW},
        {"trace": 2, "span": 2, "start": NOW},
    ]))  # fmt: skip
    done = w.run_once()
    assert (done.kept_traces, done.dropped_traces) == (1, 1)
    assert stored(tmp_path) == [(trace_id(1), span_id(0)), (trace_id(1), span_id(1))]
    spool.write(
        tmp_path,
        "home",
        "spans",
        spans([{"trace": 1, "span": 5, "parent": 0}, {"trace": 2, "span": 6, "parent": 2}]),
    )
    done = w.run_once()
    assert (done.late_kept, done.late_dropped) == (1, 1)
    assert (trace_id(1), span_id(5)) in stored(tmp_path)
    assert (trace_id(2), span_id(6)) not in stored(tmp_path)


def test_a_trace_without_its_root_waits_for_decision_wait(tmp_path: Path) -> None:
    clock = Clock()
    w = writer(tmp_path, clock)
    spool.write(
        tmp_path, "home", "spans", spans([{"trace": 3, "span": 1, "parent": 0, "ms": 3000}])
    )
    assert w.run_once().kept_traces == 0
    clock.now += 11 * S
    assert w.run_once().kept_traces == 1
    assert stored(tmp_path) == [(trace_id(3), span_id(1))]


def test_a_late_error_keeps_the_whole_dropped_trace(tmp_path: Path) -> None:
    clock = Clock()
    w = writer(tmp_path, clock)
    spool.write(
        tmp_path,
        "home",
        "spans",
        spans([{"trace": 4, "span": 0}, {"trace": 4, "span": 1, "parent": 0}]),
    )
    assert w.run_once().dropped_traces == 1
    assert stored(tmp_path) == []
    clock.now += 60 * S
    spool.write(
        tmp_path, "home", "spans", spans([{"trace": 4, "span": 2, "parent": 1, "status": "error"}])
    )
    assert w.run_once().overturned == 1
    assert [s for _, s in stored(tmp_path)] == [span_id(0), span_id(1), span_id(2)]
    with hot.reading(tmp_path, "home") as con:
        assert con.execute("SELECT policy FROM decisions").fetchall() == [(LATE_ERROR,)]
        totals = dict(
            ((k, p), (t, s))
            for k, p, t, s, _ in con.execute("SELECT * FROM sampling_totals").fetchall()
        )
    assert totals[(True, LATE_ERROR)] == (1, 2)
    assert totals[(False, "-")] == (0, 0)


def test_decisions_survive_a_restart_of_the_writer(tmp_path: Path) -> None:
    clock = Clock()
    writer(tmp_path, clock).run_once()
    spool.write(tmp_path, "home", "spans", spans([{"trace": 5, "span": 0, "ms": 5000}]))
    writer(tmp_path, clock).run_once()
    spool.write(tmp_path, "home", "spans", spans([{"trace": 5, "span": 1, "parent": 0}]))
    assert writer(tmp_path, clock).run_once().late_kept == 1  # a new writer knows the decision
    assert len(stored(tmp_path)) == 2


def test_a_crash_after_the_commit_never_folds_a_batch_twice(tmp_path: Path) -> None:
    clock = Clock()
    file = spool.write(tmp_path, "home", "spans", spans([{"trace": 6, "span": 0, "ms": 5000}]))
    kept = tmp_path / "copy.arrow"
    shutil.copy(file.path, kept)
    writer(tmp_path, clock).run_once()
    shutil.copy(kept, file.path)  # as if the writer died between COMMIT and unlink
    assert writer(tmp_path, clock).run_once().files == 0
    assert not file.path.exists()
    assert len(stored(tmp_path)) == 1


def test_metrics_and_logs_are_not_sampled(tmp_path: Path) -> None:
    import pyarrow as pa

    from andon.telemetry.schema import LOGS

    row = {f.name: None for f in LOGS}
    row.update(team="home", service_name="shop", time=__import__("datetime").datetime(2026, 11, 30),
               time_unix_nano=NOW, observed_unix_nano=NOW, severity_number=9, severity_text="INFO",
               body="hello", trace_id="", span_id="", event_name="", attributes="{}", resource="{}",
               scope_name="s", day=__import__("datetime").date(2026, 11, 30))  # fmt: skip
    spool.write(tmp_path, "home", "logs", pa.Table.from_pylist([row] * 3, schema=LOGS))
    assert writer(tmp_path, Clock()).run_once().logs == 3
    with hot.reading(tmp_path, "home") as con:
        assert con.execute("SELECT count(*), min(body) FROM logs").fetchone() == (3, "hello")


def test_one_writer_per_home(tmp_path: Path) -> None:
    with exclusive(tmp_path), pytest.raises(Conflict, match="already runs"), exclusive(tmp_path):
        pass


trace_shapes = st.lists(
    st.lists(st.booleans(), min_size=1, max_size=4),  # per span: is it an error?
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    shapes=trace_shapes,
    order=st.randoms(use_true_random=False),
    cuts=st.lists(st.integers(0, 40), max_size=5),
    waits=st.lists(st.integers(0, 25), min_size=6, max_size=6),
    restarts=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_no_trace_with_an_error_span_is_ever_dropped(
    tmp_path_factory: pytest.TempPathFactory,
    shapes: list[list[bool]],
    order: object,
    cuts: list[int],
    waits: list[int],
    restarts: list[bool],
) -> None:
    """Whatever the arrival order, the split into batches, the waits between passes and
    restarts of the writer, every span of every trace holding an error span is stored, once."""
    home = tmp_path_factory.mktemp("prop")
    rows = []
    for n, errors in enumerate(shapes):
        for k, error in enumerate(errors):
            rows.append({"trace": n, "span": n * 10 + k, "parent": None if k == 0 else n * 10,
                         "status": "error" if error else "ok", "start": NOW})  # fmt: skip
    order.shuffle(rows)  # type: ignore[attr-defined]
    bounds = sorted({min(c, len(rows)) for c in cuts} | {0, len(rows)})
    batches = [rows[a:b] for a, b in itertools.pairwise(bounds) if rows[a:b]]
    clock = Clock()
    w = writer(home, clock)
    for i, batch in enumerate(batches):
        spool.write(home, "home", "spans", spans(batch))
        if restarts[i % 6]:
            w = writer(home, clock)
        w.run_once()
        clock.now += waits[i % 6] * S
    clock.now += 11 * S
    w.run_once()
    kept = stored(home)
    assert len(kept) == len(set(kept)), "a span was stored twice"
    for n, errors in enumerate(shapes):
        if any(errors):
            want = {(trace_id(n), span_id(n * 10 + k)) for k in range(len(errors))}
            assert want <= set(kept), f"trace {n} has an error span and lost spans"
    with hot.reading(home, "home") as con:
        policies = dict(con.execute("SELECT trace_id, policy FROM decisions").fetchall())
    for n, errors in enumerate(shapes):
        if any(errors):
            assert policies[trace_id(n)] in (ERRORS, LATE_ERROR)
