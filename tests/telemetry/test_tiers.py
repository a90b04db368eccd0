"""Retention: days move to Parquet and expire, exactly once even when the job is killed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from andon.data.sql_guard import SqlLimits
from andon.telemetry import hot, query, spool, tiers
from andon.telemetry.sampling import parse
from andon.telemetry.writer import Writer
from tests.telemetry.rows import spans

S = 1_000_000_000
DAY = 86_400 * S
TODAY = date(2026, 12, 4)
EPOCH_TODAY = 1_796_342_400 * S  # 2026-12-04 00:00 UTC
KEEP_ALL = parse({"policies": [{"name": "all", "type": "always_sample"}]})
LIMITS = SqlLimits(30, "1GB")


def fill(home: Path, days: int, per_day: int) -> int:
    """``per_day`` one-span traces on each of the last ``days`` days, kept and folded."""
    rows = [
        {"trace": d * per_day + i, "span": 0, "start": EPOCH_TODAY - d * DAY + i * S}
        for d in range(days)
        for i in range(per_day)
    ]
    spool.write(home, "home", "spans", spans(rows))
    Writer(home, lambda _: KEEP_ALL, lambda _: {}, clock=lambda: EPOCH_TODAY).run_once()
    return len(rows)


def counted(home: Path) -> tuple[int, int]:
    result = query.run(
        home, ["home"], "SELECT count(*), count(DISTINCT trace_id) FROM spans", LIMITS
    )
    return tuple(result.table.to_pylist()[0].values())  # type: ignore[return-value]


def test_days_past_the_hot_window_move_to_zstd_parquet_by_day_and_team(tmp_path: Path) -> None:
    total = fill(tmp_path, 40, 5)
    report = tiers.retain(tmp_path, "home", TODAY, hot_days=30, cold_days=180)
    assert report.moves == 9 and report.moved_rows == 45  # days 31 to 39 back
    files = tiers.cold_files(tmp_path, "spans", ["home"])
    assert len(files) == 9
    assert all(
        f.parent.name == "team=home" and f.parent.parent.name.startswith("day=") for f in files
    )
    assert pq.ParquetFile(files[0]).metadata.row_group(0).column(0).compression == "ZSTD"
    with hot.reading(tmp_path, "home") as con:
        assert con.execute("SELECT count(*) FROM spans").fetchone() == (total - 45,)
    assert counted(tmp_path) == (total, total)
    again = tiers.retain(tmp_path, "home", TODAY, hot_days=30, cold_days=180)
    assert (again.moves, again.moved_rows) == (0, 0)  # idempotent
    gone = tiers.retain(tmp_path, "home", TODAY + timedelta(days=150), hot_days=30, cold_days=180)
    assert gone.expired_days > 0
    assert counted(tmp_path)[0] < total


_JOB = """
import sys
from datetime import date
from pathlib import Path
from andon.telemetry import tiers
tiers.retain(Path(sys.argv[1]), "home", date(2026, 12, 4), hot_days=1, cold_days=3650)
"""


def test_a_job_killed_at_random_points_leaves_every_span_exactly_once(tmp_path: Path) -> None:
    total = fill(tmp_path, 60, 20)
    rng = random.Random(7)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    kills = 0
    for _ in range(12):
        job = subprocess.Popen([sys.executable, "-c", _JOB, str(tmp_path)], env=env)
        time.sleep(rng.uniform(0.2, 1.5))
        if job.poll() is None:
            job.send_signal(signal.SIGKILL)
            kills += 1
        job.wait()
        assert counted(tmp_path) == (total, total)  # between runs too: nothing doubled or lost
    tiers.retain(tmp_path, "home", TODAY, hot_days=1, cold_days=3650)
    assert kills > 0
    assert counted(tmp_path) == (total, total)
    with hot.reading(tmp_path, "home") as con:
        assert con.execute("SELECT count(*) FROM moves WHERE state <> 'done'").fetchone() == (0,)
        assert con.execute("SELECT count(DISTINCT day) FROM spans").fetchone() == (
            2,
        )  # today, yesterday


def test_rows_of_a_move_planned_but_not_written_are_still_counted(tmp_path: Path) -> None:
    total = fill(tmp_path, 3, 4)
    with hot.writing(tmp_path, "home") as con:  # step 1 of a first move, then a kill
        con.execute("UPDATE spans SET move_id = 'tm_planned' WHERE day < ?", [TODAY])
    assert tiers.cold_files(tmp_path, "spans", ["home"]) == []
    assert counted(tmp_path) == (total, total)
