"""The writer: the one process that folds the spool into the teams' hot files.

Each pass (:meth:`Writer.run_once`), team by team, in one DuckDB transaction per team:

1. every waiting spool file of the team not yet in the ``folded`` ledger is read: metric
   points and log records go straight to their tables; spans of traces already decided
   follow the decision (a late error span overturns a drop, see :mod:`andon.telemetry.sampling`),
   spans of undecided traces are held;
2. every held trace that is ready (its root arrived, or ``decision_wait`` passed) is decided by
   the team's policies: kept spans move to ``spans``, dropped ones stay held for the late-error
   window;
3. held spans past that window, decisions past :data:`DECISION_TTL_NS` and ledger entries past
   a day expire.

The files are deleted only after the transaction commits; a crash in between leaves them in
the spool *and* in the ledger, so the next pass deletes them without folding them again. A
writer that was down finds everything it missed in the spool and catches up.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from andon.core.errors import Conflict
from andon.telemetry import cardinality, hot, spool
from andon.telemetry.hot import names
from andon.telemetry.sampling import DROPPED, LATE_ERROR, Sampler, SamplingPolicy, facts_sql
from andon.telemetry.schema import SCHEMAS, SPANS
from andon.telemetry.tags import TagSchema

DECISION_TTL_NS = 3_600 * 1_000_000_000
"""How long a trace's decision is remembered (later spans of it are decided afresh)."""
LEDGER_TTL_NS = 86_400 * 1_000_000_000
MAX_FILES_PER_PASS = 256

_SPAN_COLUMNS = names(SPANS)
_B_SPAN_COLUMNS = ", ".join(f"b.{c}" for c in _SPAN_COLUMNS.split(", "))
_H_SPAN_COLUMNS = ", ".join(f"h.{c}" for c in _SPAN_COLUMNS.split(", "))


@dataclass
class PassReport:
    """What one pass of the writer did, summed over teams."""

    files: int = 0
    spans: int = 0
    metrics: int = 0
    logs: int = 0
    kept_traces: int = 0
    dropped_traces: int = 0
    late_kept: int = 0
    late_dropped: int = 0
    overturned: int = 0
    tags_dropped: int = 0  # attribute values the team's tag schema dropped
    tags_hashed: int = 0
    teams: list[str] = field(default_factory=list)

    def add(self, other: PassReport) -> None:
        """Add another team's figures to these."""
        for name in ("files", "spans", "metrics", "logs", "kept_traces", "dropped_traces",
                     "late_kept", "late_dropped", "overturned", "tags_dropped",
                     "tags_hashed"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.teams.extend(other.teams)


PolicyOf = Callable[[str], SamplingPolicy]
"""The sampling policy of a team (by name)."""
ObjectivesOf = Callable[[str], dict[str, float]]
"""A team's endpoints' latency objectives in milliseconds (endpoint name -> p95 ms)."""
TagsOf = Callable[[str], TagSchema | None]
"""A team's tag schema (``None``: its attributes are stored as sent)."""


@contextmanager
def exclusive(home: Path) -> Iterator[None]:
    """Hold the writer's lock (one writer per andon home); :class:`Conflict` when taken."""
    path = home / "telemetry" / "writer.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise Conflict(
                f"a telemetry writer already runs for this home (pid {holder})",
                hint="one writer owns the hot files; stop it first or let it fold",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


class Writer:
    """Folds the spool of one andon home (hold :func:`exclusive` while it runs)."""

    def __init__(
        self,
        home: Path,
        policy_of: PolicyOf,
        objectives_of: ObjectivesOf,
        clock: Callable[[], int] = time.time_ns,
        export: bool = False,
        tags_of: TagsOf = lambda team: None,
    ) -> None:
        self.home, self.policy_of, self.objectives_of, self.clock = (
            home,
            policy_of,
            objectives_of,
            clock,
        )
        self.export = export  # also queue kept spans in ``outbound`` for the exporter
        self.tags_of = tags_of
        self.samplers: dict[str, Sampler] = {}
        self.pending: set[str] = set(hot.teams(home))  # teams that may hold undecided traces

    def run_once(self) -> PassReport:
        """Fold what waits in the spool and decide the traces that are ready."""
        report = PassReport()
        by_team: dict[str, list[spool.SpoolFile]] = {}
        for file in spool.waiting(self.home):
            by_team.setdefault(file.team, []).append(file)
        for team in sorted(set(by_team) | self.pending):
            report.add(self._team(team, by_team.get(team, [])[:MAX_FILES_PER_PASS]))
        return report

    def _sampler(self, team: str) -> Sampler:
        policy = self.policy_of(team)
        sampler = self.samplers.get(team)
        if sampler is None or sampler.policy is not policy:
            sampler = self.samplers[team] = Sampler(policy)
        return sampler

    def _team(self, team: str, files: list[spool.SpoolFile]) -> PassReport:
        report = PassReport(teams=[team])
        now = self.clock()
        sampler = self._sampler(team)
        tags = self.tags_of(team)
        day = datetime.fromtimestamp(now / 1e9, UTC).date()
        done: list[spool.SpoolFile] = []
        with hot.writing(self.home, team) as con:
            con.execute("BEGIN")
            try:
                span_batches: list[pa.Table] = []
                for file in files:
                    done.append(file)
                    if con.execute("SELECT 1 FROM folded WHERE name = ?", [file.name]).fetchone():
                        continue
                    table = spool.read(file)
                    if tags is not None:
                        guarded = cardinality.guard(con, table, tags, day, file.signal)
                        table = guarded.table
                        report.tags_dropped += guarded.dropped
                        report.tags_hashed += guarded.hashed
                    report.files += 1
                    if file.signal == "spans":
                        report.spans += table.num_rows
                        span_batches.append(table)
                    else:
                        setattr(report, file.signal, getattr(report, file.signal) + table.num_rows)
                        con.register("batch", table)
                        con.execute(
                            f"INSERT INTO {file.signal} SELECT {names(SCHEMAS[file.signal])}, NULL "
                            "FROM batch"
                        )
                        con.unregister("batch")
                    con.execute("INSERT INTO folded VALUES (?, ?)", [file.name, now])
                if span_batches:  # one set of statements for the whole pass, not per file
                    self._spans(con, pa.concat_tables(span_batches), now, report)
                self._decide(con, team, sampler, now, report)
                self._expire(con, sampler.policy, now)
                waiting = con.execute(
                    "SELECT count(*) FROM held_spans WHERE state = 'pending'"
                ).fetchone()
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        if waiting and waiting[0]:
            self.pending.add(team)
        else:
            self.pending.discard(team)
        for file in done:
            file.path.unlink(missing_ok=True)
        return report

    def _spans(self, con: Any, batch: pa.Table, now: int, report: PassReport) -> None:
        con.register("batch", batch)
        try:
            overturned = con.execute(
                "SELECT d.trace_id, d.policy, (SELECT count(*) FROM held_spans h WHERE "
                "h.trace_id = d.trace_id AND h.state = 'dropped') FROM decisions d WHERE NOT d.kept "
                "AND d.trace_id IN (SELECT trace_id FROM batch WHERE status_code = 'error')"
            ).fetchall()
            if overturned:
                self._overturn(con, overturned, now)
                report.overturned += len(overturned)
            late = con.execute(
                "SELECT coalesce(sum(CASE WHEN d.kept THEN 1 ELSE 0 END), 0), "
                "coalesce(sum(CASE WHEN d.kept THEN 0 ELSE 1 END), 0) "
                "FROM batch b JOIN decisions d USING (trace_id)"
            ).fetchone()
            report.late_kept += int(late[0])
            report.late_dropped += int(late[1])
            if late[0] or late[1]:
                con.execute(
                    "INSERT INTO sampling_totals SELECT d.kept, d.policy, 0, 0, count(*) "
                    "FROM batch b JOIN decisions d USING (trace_id) GROUP BY d.kept, d.policy "
                    "ON CONFLICT (kept, policy) DO UPDATE SET "
                    "late_spans = sampling_totals.late_spans + excluded.late_spans"
                )
                con.execute(
                    "UPDATE decisions SET late_spans = decisions.late_spans + x.n FROM "
                    "(SELECT trace_id, count(*) AS n FROM batch GROUP BY trace_id) x "
                    "WHERE decisions.trace_id = x.trace_id"
                )
            self._keep(
                con,
                f"SELECT {_B_SPAN_COLUMNS} FROM batch b JOIN decisions d USING (trace_id) "
                "WHERE d.kept",
                now,
            )
            con.execute(
                f"INSERT INTO held_spans SELECT {_B_SPAN_COLUMNS}, ?, "
                "CASE WHEN d.trace_id IS NULL THEN 'pending' ELSE 'dropped' END "
                "FROM batch b LEFT JOIN decisions d USING (trace_id) "
                "WHERE d.trace_id IS NULL OR NOT d.kept",
                [now],
            )
        finally:
            con.unregister("batch")

    def _keep(self, con: Any, rows_sql: str, now: int) -> None:
        """Keep the spans ``rows_sql`` selects (in :data:`SPANS` column order), and queue them
        for export when an exporter is configured."""
        con.execute(f"INSERT INTO spans SELECT *, NULL FROM ({rows_sql})")
        if self.export:
            con.execute(f"INSERT INTO outbound SELECT *, ? FROM ({rows_sql})", [now])

    def _overturn(self, con: Any, rows: list[tuple[str, str, int]], now: int) -> None:
        ids = pa.table({"trace_id": [r[0] for r in rows]})
        con.register("overturned", ids)
        try:
            self._keep(
                con,
                f"SELECT {_H_SPAN_COLUMNS} FROM held_spans h WHERE h.state = 'dropped' "
                "AND h.trace_id IN (SELECT trace_id FROM overturned)",
                now,
            )
            con.execute(
                "DELETE FROM held_spans WHERE state = 'dropped' "
                "AND trace_id IN (SELECT trace_id FROM overturned)"
            )
            con.execute(
                "UPDATE decisions SET kept = true, policy = ?, decided_ns = ? "
                "WHERE trace_id IN (SELECT trace_id FROM overturned)",
                [LATE_ERROR, now],
            )
        finally:
            con.unregister("overturned")
        spans = sum(int(r[2]) for r in rows)
        for kept, policy, traces, count in ((False, DROPPED, -len(rows), -spans),
                                            (True, LATE_ERROR, len(rows), spans)):  # fmt: skip
            _total(con, kept, policy, traces, count)

    def _decide(self, con: Any, team: str, sampler: Sampler, now: int, report: PassReport) -> None:
        objectives = self.objectives_of(team)
        con.execute("CREATE OR REPLACE TEMP TABLE slo (endpoint VARCHAR, ms DOUBLE)")
        if objectives:
            con.executemany("INSERT INTO slo VALUES (?, ?)", sorted(objectives.items()))
        policy = sampler.policy
        rows = con.execute(facts_sql(policy), [now - policy.decision_wait_ns]).fetchall()
        if not rows:
            return
        decided = sampler.decide(rows, now)
        table = pa.table(
            {
                "trace_id": pa.array([d[0] for d in decided], pa.string()),
                "kept": pa.array([d[1] for d in decided], pa.bool_()),
                "policy": pa.array([d[2] for d in decided], pa.string()),
                "spans": pa.array([d[3] for d in decided], pa.int64()),
            }
        )
        con.register("decided", table)
        try:
            con.execute(
                "INSERT INTO decisions SELECT trace_id, kept, policy, ?, spans, 0 FROM decided",
                [now],
            )
            self._keep(
                con,
                f"SELECT {_H_SPAN_COLUMNS} FROM held_spans h JOIN decided d USING (trace_id) "
                "WHERE h.state = 'pending' AND d.kept",
                now,
            )
            con.execute(
                "DELETE FROM held_spans WHERE state = 'pending' "
                "AND trace_id IN (SELECT trace_id FROM decided WHERE kept)"
            )
            con.execute(
                "UPDATE held_spans SET state = 'dropped', arrived_ns = ? WHERE state = 'pending' "
                "AND trace_id IN (SELECT trace_id FROM decided WHERE NOT kept)",
                [now],
            )
            con.execute(
                "INSERT INTO sampling_totals SELECT kept, policy, count(*), sum(spans), 0 "
                "FROM decided GROUP BY kept, policy ON CONFLICT (kept, policy) DO UPDATE SET "
                "traces = sampling_totals.traces + excluded.traces, "
                "spans = sampling_totals.spans + excluded.spans"
            )
        finally:
            con.unregister("decided")
        kept = sum(1 for d in decided if d[1])
        report.kept_traces += kept
        report.dropped_traces += len(decided) - kept

    def _expire(self, con: Any, policy: SamplingPolicy, now: int) -> None:
        con.execute(
            "DELETE FROM held_spans WHERE state = 'dropped' AND arrived_ns < ?",
            [now - policy.late_error_window_ns],
        )
        con.execute("DELETE FROM decisions WHERE decided_ns < ?", [now - DECISION_TTL_NS])
        con.execute("DELETE FROM folded WHERE folded_ns < ?", [now - LEDGER_TTL_NS])
        oldest = datetime.fromtimestamp(now / 1e9, UTC).date() - cardinality.GUARD_DAYS
        con.execute("DELETE FROM tag_guard WHERE day < ?", [oldest])


def _total(con: Any, kept: bool, policy: str, traces: int, spans: int) -> None:
    con.execute(
        "INSERT INTO sampling_totals VALUES (?, ?, ?, ?, 0) ON CONFLICT (kept, policy) DO UPDATE "
        "SET traces = sampling_totals.traces + excluded.traces, "
        "spans = sampling_totals.spans + excluded.spans",
        [kept, policy, traces, spans],
    )
