"""Registry benchmark: listing and searching through the API against the raw SQL it stands for.

    .venv/bin/python benchmarks/registry.py [--runs 100000] [--versions 10000] [--backend all]

For each backend (SQLite in a temp dir; PostgreSQL too when its server binaries are installed)
the store is filled with ``--runs`` runs (two metrics and one parameter each, over 10 teams)
and ``--versions`` model versions (10 per model, half the models with a ``champion``). Then
each operation runs through the service API (a real Context, permission checks, records) and
as the equivalent raw SQL on the driver (same rows, same columns, no checks), alternating
which goes first, ``--repeat`` times; the ratio reported is median API time / median raw time.

Operations:

* ``list runs``: the newest 100 runs with their params and metrics.
* ``search runs``: ``metrics.f1 > 0.9 and params.C = '1.0'``, newest 100 matches.
* ``search runs (rare)``: ``metrics.f1 > 0.999``, a filter that scans most runs.
* ``list models``: every model with its aliases.
* ``show model``: one model with its 10 versions.

Aim: every ratio at most 3. See RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from sqlalchemy import insert, text  # noqa: E402

from andon.auth import service as auth  # noqa: E402
from andon.core.config import Settings  # noqa: E402
from andon.core.context import Context  # noqa: E402
from andon.core.ids import new_id  # noqa: E402
from andon.registry import service  # noqa: E402
from andon.store import migrate  # noqa: E402
from andon.store import registry_tables as r  # noqa: E402
from andon.store import tables as t  # noqa: E402
from andon.store.db import Database  # noqa: E402

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TEAMS = 10
PER_MODEL = 10


def fill(db: Database, runs: int, versions: int) -> dict[str, str]:
    """Bulk-load teams, runs (params, metrics) and models (versions, aliases)."""
    team_ids = [new_id("team") for _ in range(TEAMS)]
    run_rows, param_rows, metric_rows = [], [], []
    for i in range(runs):
        rid = new_id("run")
        team_id = team_ids[i % TEAMS]
        run_rows.append(
            {
                "id": rid,
                "name": f"run-{i}",
                "team_id": team_id,
                "status": "finished" if i % 7 else "failed",
                "error": "",
                "git_commit": None,
                "env_hash": None,
                "created_by": "admin",
                "started_at": START + timedelta(seconds=i),
                "ended_at": START + timedelta(seconds=i + 1),
            }
        )
        f1 = (i * 7919 % 10007) / 10007
        param_rows.append({"run_id": rid, "key": "C", "value": "1.0" if i % 3 else "0.1"})
        metric_rows.append({"run_id": rid, "key": "f1", "value": f1, "step": 0})
        metric_rows.append({"run_id": rid, "key": "loss", "value": 1 - f1, "step": 0})
    models = versions // PER_MODEL
    model_rows, asset_rows, version_rows, alias_rows = [], [], [], []
    for m in range(models):
        mid, aid = new_id("model"), new_id("asset")
        team_id = team_ids[m % TEAMS]
        asset_rows.append(
            {
                "id": aid,
                "kind": "model",
                "name": f"model-{m}",
                "team_id": team_id,
                "created_at": START,
            }
        )
        model_rows.append(
            {
                "id": mid,
                "name": f"model-{m}",
                "team_id": team_id,
                "asset_id": aid,
                "last_version": PER_MODEL,
                "created_at": START,
            }
        )
        for v in range(1, PER_MODEL + 1):
            version_rows.append(
                {
                    "id": new_id("model_version"),
                    "model_id": mid,
                    "version": v,
                    "digest": f"{m:032x}{v:032x}",
                    "format": "onnx",
                    "size": 1000,
                    "signature": {"inputs": [{"name": "X", "type": "tensor(float)"}]},
                    "run_id": run_rows[(m * PER_MODEL + v) % runs]["id"],
                    "dataset_version_ids": [],
                    "trusted_pickle": False,
                    "created_by": "admin",
                    "created_at": START,
                }
            )
        if m % 2 == 0:
            alias_rows.append(
                {"model_id": mid, "alias": "champion", "version": PER_MODEL, "updated_at": START}
            )
    with db.transaction() as session:
        session.execute(
            insert(t.Team),
            [
                {"id": tid, "name": f"team-{i}", "description": "", "created_at": START}
                for i, tid in enumerate(team_ids)
            ],
        )
        for table, rows in (
            (r.Run, run_rows),
            (r.RunParam, param_rows),
            (r.RunMetric, metric_rows),
            (t.Asset, asset_rows),
            (r.Model, model_rows),
            (r.ModelVersion, version_rows),
            (r.ModelAlias, alias_rows),
        ):
            for chunk in range(0, len(rows), 20_000):
                session.execute(insert(table), rows[chunk : chunk + 20_000])
    if db.dialect == "postgresql":
        with db.write_engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return {"model": "model-4"}


# --------------------------------------------------------------------------- raw SQL


def _placeholders(dialect: str, n: int) -> str:
    return ", ".join(["?" if dialect == "sqlite" else "%s"] * n)


def raw_runs(db: Database, where: str, args: tuple[Any, ...]) -> Callable[[], int]:
    """The newest 100 runs matching ``where``, then their params and metrics, on the driver."""

    def go() -> int:
        conn = db.read_engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute(
                "SELECT r.id, r.name, t.name, r.status, r.error, r.git_commit, r.env_hash, "
                "r.created_by, r.started_at, r.ended_at FROM runs r JOIN teams t "
                f"ON t.id = r.team_id {where} ORDER BY r.started_at DESC, r.id DESC LIMIT 100",
                args,
            )
            rows = cur.fetchall()
            ids = [row[0] for row in rows]
            if ids:
                marks = _placeholders(db.dialect, len(ids))
                cur.execute(
                    f"SELECT run_id, key, value FROM run_params WHERE run_id IN ({marks})", ids
                )
                cur.fetchall()
                cur.execute(
                    f"SELECT run_id, key, value FROM run_metrics WHERE run_id IN ({marks})", ids
                )
                cur.fetchall()
            return len(rows)
        finally:
            conn.close()

    return go


def raw_models(db: Database) -> Callable[[], int]:
    """Every model with its team and aliases."""

    def go() -> int:
        conn = db.read_engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute(
                "SELECT m.id, m.name, t.name, m.asset_id, m.last_version, m.created_at "
                "FROM models m JOIN teams t ON t.id = m.team_id ORDER BY t.name, m.name"
            )
            rows = cur.fetchall()
            cur.execute("SELECT model_id, alias, version FROM model_aliases")
            cur.fetchall()
            return len(rows)
        finally:
            conn.close()

    return go


def raw_model(db: Database, name: str) -> Callable[[], int]:
    """One model with its versions and aliases."""
    mark = "?" if db.dialect == "sqlite" else "%s"

    def go() -> int:
        conn = db.read_engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute(
                "SELECT m.id, m.name, t.name, m.asset_id, m.last_version, m.created_at, "
                f"m.team_id FROM models m JOIN teams t ON t.id = m.team_id WHERE m.name = {mark}",
                (name,),
            )
            (mid, *_rest) = cur.fetchone()
            cur.execute(
                f"SELECT model_id, alias, version FROM model_aliases WHERE model_id = {mark}",
                (mid,),
            )
            cur.fetchall()
            cur.execute(
                "SELECT id, version, digest, format, size, signature, run_id, dataset_version_ids, "
                f"trusted_pickle, created_by, created_at FROM model_versions WHERE model_id = {mark} "
                "ORDER BY version DESC",
                (mid,),
            )
            return len(cur.fetchall())
        finally:
            conn.close()

    return go


# --------------------------------------------------------------------------- timing


def compare(
    api: Callable[[], int], raw: Callable[[], int], repeat: int
) -> tuple[float, float, int]:
    """Median seconds of ``api`` and ``raw``, alternating order; checks both return as many rows."""
    n_api, n_raw = api(), raw()  # warm caches and pools
    if n_api != n_raw:
        raise AssertionError(f"API returned {n_api} rows, raw SQL {n_raw}")
    api_times, raw_times = [], []
    for i in range(repeat):
        pair = [(api, api_times), (raw, raw_times)]
        for fn, times in pair if i % 2 == 0 else reversed(pair):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(api_times), statistics.median(raw_times), n_api


@contextmanager
def sqlite_database() -> Iterator[tuple[Database, Settings]]:
    folder = Path(tempfile.mkdtemp(prefix="andon-bench-"))
    try:
        settings = Settings(home=folder, database_url=f"sqlite:///{folder / 'andon.db'}")
        db = Database.from_settings(settings)
        migrate.upgrade(db)
        yield db, settings
        db.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_database() -> Iterator[tuple[Database, Settings]]:
    from tests.pg import PostgresServer

    server = PostgresServer()
    try:
        url = server.create_database()
        folder = Path(tempfile.mkdtemp(prefix="andon-bench-"))
        settings = Settings(home=folder, database_url=url)
        db = Database.from_settings(settings)
        migrate.upgrade(db)
        yield db, settings
        db.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        server.stop()


def bench(backend: str, db: Database, settings: Settings, args: argparse.Namespace) -> None:
    start = time.perf_counter()
    names = fill(db, args.runs, args.versions)
    auth.bootstrap(db, settings, "admin")
    ctx: Context = auth.context_for(db, settings, "admin")
    print(
        f"{backend}: {args.runs:,} runs, {args.versions:,} model versions loaded in "
        f"{time.perf_counter() - start:.1f} s"
    )
    mark = "?" if db.dialect == "sqlite" else "%s"
    f1_rare = "EXISTS (SELECT 1 FROM run_metrics m WHERE m.run_id = r.id AND m.key = {0} AND m.value > {0})"
    cases: list[tuple[str, Callable[[], int], Callable[[], int]]] = [
        ("list runs", lambda: len(service.list_runs(ctx)), raw_runs(db, "", ())),
        (
            "search runs",
            lambda: len(service.list_runs(ctx, where="metrics.f1 > 0.9 and params.C = '1.0'")),
            raw_runs(
                db,
                "WHERE " + f1_rare.format(mark) + " AND EXISTS (SELECT 1 FROM run_params p "
                f"WHERE p.run_id = r.id AND p.key = {mark} AND p.value = {mark})",
                ("f1", 0.9, "C", "1.0"),
            ),
        ),
        (
            "search runs (rare)",
            lambda: len(service.list_runs(ctx, where="metrics.f1 > 0.999")),
            raw_runs(db, "WHERE " + f1_rare.format(mark), ("f1", 0.999)),
        ),
        ("list models", lambda: len(service.list_models(ctx)), raw_models(db)),
        (
            "show model",
            lambda: len(service.get_model(ctx, names["model"]).versions),
            raw_model(db, names["model"]),
        ),
    ]
    print(f"| {backend} | operation | rows | API | raw SQL | ratio |")
    for label, api, raw in cases:
        api_s, raw_s, rows = compare(api, raw, args.repeat)
        print(
            f"| {backend} | {label} | {rows} | {api_s * 1000:.2f} ms | {raw_s * 1000:.2f} ms "
            f"| **{api_s / raw_s:.2f}** |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=31)
    parser.add_argument("--backend", choices=["all", "sqlite", "postgresql"], default="all")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.platform()}")
    from tests.pg import missing_reason

    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    for backend in backends:
        if backend == "postgresql":
            reason = missing_reason()
            if reason:
                print(f"postgresql: skipped ({reason})")
                continue
            databases = postgres_database()
        else:
            databases = sqlite_database()
        with databases as (db, settings):
            bench(backend, db, settings, args)


if __name__ == "__main__":
    main()
