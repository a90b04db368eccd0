"""The cold tier and the retention job that moves days to it and expires them.

Cold files are Parquet with zstd, one per move, partitioned by day and team, under the cold
tier's root (``HOME/telemetry/cold`` or ``ANDON_TELEMETRY_COLD_URL``, see
:mod:`andon.telemetry.cold`)::

    <root>/<signal>/day=2026-12-04/team=<team>/<move_id>.parquet

A move takes one day of one signal of one team out of the hot file in three steps, each one
durable before the next starts, so a job killed at any point (SIGKILL included) and run again
leaves every row exactly once across the tiers:

1. *plan*: one transaction records the move (``moves``, state ``planned``) and stamps the
   day's rows with its ``move_id``;
2. *write*: the stamped rows go to a dot-named file, flushed and renamed into place; on a
   remote cold tier, to a staging file under ``HOME/telemetry/staging/<team>`` that is then
   uploaded whole (:meth:`~andon.telemetry.cold.ColdStore.upload`): the cold file exists whole
   or not at all;
3. *finish*: one transaction deletes the stamped rows and marks the move ``done``.

A rerun finishes planned moves first: written ones are finished, unwritten ones written. A
query (:mod:`andon.telemetry.query`) reads hot rows whose ``move_id`` has no cold file yet,
so between steps 2 and 3 no row is counted twice either.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path, PurePath
from typing import Any

from andon.core.ids import new_id
from andon.telemetry import cold, hot
from andon.telemetry.cold import ColdStore
from andon.telemetry.hot import names
from andon.telemetry.schema import SCHEMAS

HOT_DAYS = 30
COLD_DAYS = 180


@dataclass
class RetentionReport:
    """What one run of the retention job did for one team."""

    team: str
    moved_rows: int = 0
    moves: int = 0
    finished: int = 0  # planned moves of an earlier, interrupted run completed now
    expired_days: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"team": self.team, "moved_rows": self.moved_rows, "moves": self.moves,
                "finished": self.finished, "expired_days": self.expired_days}  # fmt: skip


def folder(home: Path) -> Path:
    """Where the default (local) cold tier of an andon home is."""
    return home / "telemetry" / "cold"


def cold_files(where: Path | ColdStore, signal: str, teams: list[str]) -> list[PurePath]:
    """The cold files of ``signal`` for ``teams`` in a cold tier (an andon home: its default
    local one); local files are :class:`~pathlib.Path`, remote ones paths in the store."""
    store = where if isinstance(where, ColdStore) else cold.local(where)
    return store.files(signal, teams)


def _staging(home: Path, team: str) -> Path:
    return home / "telemetry" / "staging" / team


def retain(
    home: Path,
    team: str,
    today: date,
    hot_days: int = HOT_DAYS,
    cold_days: int = COLD_DAYS,
    store: ColdStore | None = None,
) -> RetentionReport:
    """Move ``team``'s days older than ``hot_days`` to the cold tier (``store``, by default
    ``HOME/telemetry/cold``) and delete cold days older than ``cold_days`` (idempotent; safe
    to kill and rerun)."""
    store = store or cold.local(home)
    report = RetentionReport(team)
    with hot.writing(home, team) as con:
        # The hot file is this job's alone now: staged files of a killed run are stale.
        shutil.rmtree(_staging(home, team), ignore_errors=True)
        for move_id, signal, day in con.execute(
            "SELECT move_id, signal, day FROM moves WHERE state = 'planned' ORDER BY move_id"
        ).fetchall():
            # Where the file goes is the tier's of today (the setting may have changed).
            path = store.path(signal, day, team, move_id)
            if not store.exists(path):
                _write(con, signal, move_id, path, store, _staging(home, team))
            report.moved_rows += _finish(con, signal, move_id)
            report.finished += 1
        cutoff = today - timedelta(days=hot_days)
        for signal in SCHEMAS:
            days = con.execute(
                f"SELECT DISTINCT day FROM {signal} WHERE day < ? AND move_id IS NULL ORDER BY day",
                [cutoff],
            ).fetchall()
            for (day,) in days:
                move_id = new_id("telemetry_move")
                path = store.path(signal, day, team, move_id)
                con.execute("BEGIN")
                con.execute(
                    "INSERT INTO moves VALUES (?, ?, ?, ?, 'planned', NULL)",
                    [move_id, signal, day, store.url(path)],
                )
                con.execute(
                    f"UPDATE {signal} SET move_id = ? WHERE day = ? AND move_id IS NULL",
                    [move_id, day],
                )
                con.execute("COMMIT")
                _write(con, signal, move_id, path, store, _staging(home, team))
                report.moved_rows += _finish(con, signal, move_id)
                report.moves += 1
    report.expired_days = _expire(store, team, today - timedelta(days=cold_days))
    return report


def _write(
    con: Any, signal: str, move_id: str, path: PurePath, store: ColdStore, staging: Path
) -> None:
    if store.local:
        _write_local(con, signal, move_id, Path(path))
        return
    staging.mkdir(parents=True, exist_ok=True)
    staged = staging / f"{move_id}.parquet"
    _parquet(con, signal, move_id, staged)
    store.upload(staged, path)
    staged.unlink()


def _parquet(con: Any, signal: str, move_id: str, target: Path) -> None:
    table = con.sql(
        f"SELECT {names(SCHEMAS[signal])} FROM {signal} WHERE move_id = $1", params=[move_id]
    ).to_arrow_table()
    import pyarrow.parquet as pq

    pq.write_table(table.cast(SCHEMAS[signal]), target, compression="zstd")


def _write_local(con: Any, signal: str, move_id: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    _parquet(con, signal, move_id, tmp)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _finish(con: Any, signal: str, move_id: str) -> int:
    con.execute("BEGIN")
    row = con.execute(f"SELECT count(*) FROM {signal} WHERE move_id = ?", [move_id]).fetchone()
    con.execute(f"DELETE FROM {signal} WHERE move_id = ?", [move_id])
    con.execute("UPDATE moves SET state = 'done', rows = ? WHERE move_id = ?", [row[0], move_id])
    con.execute("COMMIT")
    return int(row[0])


def _expire(store: ColdStore, team: str, before: date) -> int:
    expired = 0
    for signal in SCHEMAS:
        if store.local:
            expired += _expire_local(Path(store.root) / signal, team, before)
            continue
        days = {_day_of(f) for f in store.files(signal, [team])}
        for day in sorted(d for d in days if d is not None and d < before):
            store.remove_folder(store.team_folder(signal, day, team))
            expired += 1
    return expired


def _day_of(file: PurePath) -> date | None:
    try:
        return datetime.strptime(file.parent.parent.name[4:], "%Y-%m-%d").date()
    except ValueError:
        return None


def _expire_local(root: Path, team: str, before: date) -> int:
    if not root.is_dir():
        return 0
    expired = 0
    for day_dir in root.glob("day=*"):
        try:
            day = datetime.strptime(day_dir.name[4:], "%Y-%m-%d").date()
        except ValueError:
            continue
        team_dir = day_dir / f"team={team}"
        if day < before and team_dir.is_dir():
            shutil.rmtree(team_dir)
            expired += 1
    return expired
