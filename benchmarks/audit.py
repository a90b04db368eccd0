"""Audit chain benchmark: append cost against plain inserts, and verify time for a long chain.

    .venv/bin/python benchmarks/audit.py [--rows 5000] [--verify-rows 100000] [--backend all]

For each backend (SQLite in a temp dir; PostgreSQL too when its server binaries are installed):

* **append ratio**: ``chain.append`` of N entries, each in its own transaction, against plain
  inserts of the same N rows (same columns, values precomputed as a valid chain) into the same
  table of a second, identical database, each in its own transaction, through the same session
  and driver path. The work is cut into many short rounds that alternate which side goes
  first, so background load hits both sides alike; the ratio reported is the median of the
  per-round ratios (the ratio of the totals is printed too).
* **verify**: a valid 100,000-entry chain (bulk-inserted, then checked) and the best and median
  of three ``chain.verify`` runs.

Numbers are relative to the baseline measured in the same run; see RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from sqlalchemy import update  # noqa: E402

from andon.audit import chain  # noqa: E402
from andon.audit.keys import AuditKey  # noqa: E402
from andon.core.canonical import canonical_json, sha256_hex  # noqa: E402
from andon.core.ids import new_id  # noqa: E402
from andon.store import migrate  # noqa: E402
from andon.store.db import Database  # noqa: E402
from andon.store.tables import AuditHead  # noqa: E402

COLUMNS = (
    "seq, id, ts, actor, action, object_id, reason, change, change_digest, prev_hash, hash, key_id"
)
PLAIN_INSERT = {
    "sqlite": f"INSERT INTO audit_log ({COLUMNS}) VALUES ({', '.join('?' * 12)})",
    "postgresql": (
        f"INSERT INTO audit_log ({COLUMNS}) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s::json, %s, %s, %s, %s)"
    ),
}
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
KEY = AuditKey(b"benchmark audit key, not a secret, 32+ bytes")


@dataclass(frozen=True)
class Change:
    """The inputs of one audited change."""

    actor: str
    action: str
    object_id: str
    change: dict[str, Any]
    reason: str
    at: datetime


def changes(n: int) -> list[Change]:
    """N realistic changes: service-sized payloads, a few actors and actions."""
    actions = ("principal.create", "team.member.add", "role.grant", "token.create")
    return [
        Change(
            actor=f"user-{i % 7}",
            action=actions[i % len(actions)],
            object_id=new_id("principal"),
            change={"name": f"analyst-{i}", "kind": "user", "team": "fraud-ml", "n": i},
            reason=f"ticket OPS-{1000 + i}: onboarding",
            at=START + timedelta(milliseconds=i),
        )
        for i in range(n)
    ]


def chain_rows(items: list[Change], dialect: str) -> list[tuple[Any, ...]]:
    """The rows ``chain.append`` would write for ``items``: a valid chain, precomputed."""
    rows, prev = [], chain.GENESIS
    for seq, c in enumerate(items, start=1):
        change_json = canonical_json(c.change)
        change_digest = sha256_hex(change_json)
        entry_id = new_id("audit")
        own = chain.entry_hash(
            seq=seq,
            id=entry_id,
            ts=c.at,
            actor=c.actor,
            action=c.action,
            object_id=c.object_id,
            reason=c.reason,
            change_digest=change_digest,
            prev_hash=prev,
            key=KEY,
        )
        ts: Any = (
            c.at
            if dialect == "postgresql"
            else c.at.replace(tzinfo=None).isoformat(" ", "microseconds")
        )
        rows.append(
            (
                seq,
                entry_id,
                ts,
                c.actor,
                c.action,
                c.object_id,
                c.reason,
                change_json,
                change_digest,
                prev,
                own,
                KEY.id,
            )
        )
        prev = own
    return rows


def append_chained(db: Database, items: list[Change]) -> float:
    """Seconds to append ``items`` through the hash chain, one transaction each."""
    started = time.perf_counter()
    for c in items:
        with db.transaction() as session:
            chain.append(
                session,
                key=KEY,
                actor=c.actor,
                action=c.action,
                object_id=c.object_id,
                change=c.change,
                reason=c.reason,
                at=c.at,
            )
    return time.perf_counter() - started


def insert_plain(db: Database, rows: list[tuple[Any, ...]]) -> float:
    """Seconds to insert the same rows with no chain, one transaction each, same driver path."""
    sql = PLAIN_INSERT[db.dialect]
    started = time.perf_counter()
    for row in rows:
        with db.transaction() as session:
            driver: Any = session.connection().connection.driver_connection
            cursor = driver.cursor()
            cursor.execute(sql, row)
            cursor.close()
    return time.perf_counter() - started


@dataclass
class AppendResult:
    chained: float
    plain: float
    rounds: list[float]
    n: int

    @property
    def ratio(self) -> float:
        return self.chained / self.plain


def bench_append(new_db: Any, n: int, rounds: int) -> AppendResult:
    """Interleaved rounds of chained appends and plain inserts on two fresh databases."""
    chained_db, plain_db = new_db(), new_db()
    items = changes(n)
    rows = chain_rows(items, plain_db.dialect)
    # Warm both paths (connections, statement caches) outside the timing.
    warm = max(1, n // 50)
    append_chained(chained_db, items[:warm])
    insert_plain(plain_db, rows[:warm])
    items, rows = items[warm:], rows[warm:]
    size = len(items) // rounds
    total_chained = total_plain = 0.0
    per_round = []
    for r in range(rounds):
        chunk = slice(r * size, len(items) if r == rounds - 1 else (r + 1) * size)
        if r % 2 == 0:
            a = append_chained(chained_db, items[chunk])
            b = insert_plain(plain_db, rows[chunk])
        else:
            b = insert_plain(plain_db, rows[chunk])
            a = append_chained(chained_db, items[chunk])
        total_chained, total_plain = total_chained + a, total_plain + b
        per_round.append(a / b)
    with chained_db.read() as session:
        result = chain.verify(session, KEY)
    if result != chain.Verification(True, n):
        raise SystemExit(f"the appended chain does not verify: {result}")
    chained_db.dispose()
    plain_db.dispose()
    return AppendResult(total_chained, total_plain, per_round, len(items))


def bench_verify(new_db: Any, n: int, repeats: int = 3) -> list[float]:
    """Seconds per ``chain.verify`` of a valid ``n``-entry chain, ``repeats`` times."""
    db = new_db()
    rows = chain_rows(changes(n), db.dialect)
    with db.transaction() as session:
        driver: Any = session.connection().connection.driver_connection
        cursor = driver.cursor()
        cursor.executemany(PLAIN_INSERT[db.dialect], rows)
        cursor.close()
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=n, hash=rows[-1][-2]))
    times = []
    for _ in range(repeats):
        with db.read() as session:
            started = time.perf_counter()
            result = chain.verify(session, KEY)
            times.append(time.perf_counter() - started)
        if result != chain.Verification(True, n):
            raise SystemExit(f"the bulk-built chain does not verify: {result}")
    db.dispose()
    return times


@contextmanager
def sqlite_databases() -> Iterator[Any]:
    folder = Path(tempfile.mkdtemp(prefix="andon-bench-audit-"))
    made: list[int] = []

    def new_db() -> Database:
        made.append(1)
        db = Database(f"sqlite:///{folder / f'bench{len(made)}.db'}")
        migrate.upgrade(db)
        return db

    try:
        yield new_db
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_databases() -> Iterator[Any]:
    from tests.pg import PostgresServer

    server = PostgresServer()

    def new_db() -> Database:
        db = Database(server.create_database())
        migrate.upgrade(db)
        return db

    try:
        yield new_db
    finally:
        server.stop()


def machine() -> str:
    model = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cpus ({model}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="entries appended per side")
    parser.add_argument("--rounds", type=int, default=50, help="interleaved rounds")
    parser.add_argument("--verify-rows", type=int, default=100_000, help="length to verify")
    parser.add_argument(
        "--backend", choices=["all", "sqlite", "postgresql"], default="all", help="which stores"
    )
    args = parser.parse_args()
    from tests.pg import missing_reason

    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    print(f"audit benchmark: {machine()}")
    print(f"rows={args.rows} rounds={args.rounds} verify-rows={args.verify_rows}")
    for backend in backends:
        if backend == "postgresql":
            reason = missing_reason()
            if reason:
                print(f"postgresql: skipped ({reason})")
                continue
            databases = postgres_databases()
        else:
            databases = sqlite_databases()
        with databases as new_db:
            a = bench_append(new_db, args.rows, args.rounds)
            per_op = 1e6 / a.n
            quartiles = statistics.quantiles(a.rounds, n=4)
            print(
                f"{backend}: append with hash chain {a.chained * per_op:.1f} us/op, "
                f"plain insert {a.plain * per_op:.1f} us/op: "
                f"ratio {statistics.median(a.rounds):.2f} (median of {len(a.rounds)} rounds, "
                f"quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f}; of totals {a.ratio:.2f}; "
                "aim <= 1.5)"
            )
            v = bench_verify(new_db, args.verify_rows)
            print(
                f"{backend}: verify {args.verify_rows:,} entries: best {min(v):.2f} s, "
                f"median {statistics.median(v):.2f} s "
                f"({min(v) / args.verify_rows * 1e6:.1f} us/entry; aim < 2 s)"
            )


if __name__ == "__main__":
    main()
