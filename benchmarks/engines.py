"""The sample contract's checks on each engine: DuckDB (the baseline), PostgreSQL and Spark.

    .venv/bin/python benchmarks/engines.py [--rows 10000] [--rounds 3]

Generates the sample (customers, orders, invoices with every defect) into a temp folder,
loads it into a throwaway PostgreSQL server (``tests/pg.py``, schema ``sales``) and runs the
sample contract (22 checks + 9 schema checks, 6 queries) through ``andon.data.compile.run`` on
each engine. Prints per engine the first run (cold: connection, and for Spark the session's
first queries), the median of the next ``--rounds`` runs (warm), the query count, and the ratio
of the warm median to DuckDB's measured in the same run; Spark's session start (JVM) is timed
apart. Every engine must report the same results, or the script fails. See RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.pg import PostgresServer, missing_reason  # noqa: E402

from andon.data import compile as engine  # noqa: E402
from andon.data.contracts import parse_contract  # noqa: E402
from andon.data.engines import spark_missing_reason, spark_session, stop_spark  # noqa: E402
from andon.data.sample import contract_document, generate  # noqa: E402

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _load(server: PostgresServer, folder: Path) -> str:
    import ibis  # type: ignore[import-untyped]
    import pyarrow.parquet as pq

    database = server.create_database().rsplit("/", 1)[1]
    con = ibis.postgres.connect(host="127.0.0.1", port=server.port, user="andon", database=database)
    con.raw_sql("CREATE SCHEMA sales").close()
    for name in ("customers", "orders", "invoices"):
        con.create_table(name, pq.read_table(folder / f"{name}.parquet"), database="sales")
    con.disconnect()
    return database


def _outcome(scan: engine.Scan) -> dict[str, Any]:
    return {r.check: (r.status, r.observed, r.failed_rows) for r in scan.results}


def main() -> None:
    """Run the comparison and print one line per engine."""
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="andon-engines-"))
    sample = generate(folder, rows=args.rows, seed=7, now=NOW)
    servers: list[dict[str, Any]] = [{"server": "duckdb", "type": "parquet", "path": str(folder)}]
    pg = None
    if missing_reason() is None:
        pg = PostgresServer()
        database = _load(pg, folder)
        os.environ["ANDON_POSTGRES_USER"] = "andon"
        servers.append({"server": "postgres", "type": "postgresql", "host": "127.0.0.1",
                        "port": pg.port, "database": database, "schema": "sales"})  # fmt: skip
    else:
        print(f"postgres: skipped ({missing_reason()})")
    spark_reason = spark_missing_reason()
    if spark_reason is None:
        servers.append({"server": "spark", "type": "spark", "path": str(folder)})
    else:
        print(f"spark: skipped ({spark_reason})")
    import yaml  # type: ignore[import-untyped]

    doc = contract_document()
    doc["servers"] = servers
    contract = parse_contract(yaml.safe_dump(doc))
    print(f"sample: {sample.rows} rows; {len(servers)} engines; {args.rounds} warm rounds")
    baseline: float | None = None
    reference: dict[str, Any] | None = None
    try:
        for entry in servers:
            name = entry["server"]
            if name == "spark":
                started = time.perf_counter()
                spark_session()
                print(f"spark: session start {time.perf_counter() - started:.2f} s")
            times = []
            for _ in range(args.rounds + 1):
                started = time.perf_counter()
                scan = engine.run(contract, folder, now=NOW, server=name)
                times.append(time.perf_counter() - started)
            outcome = _outcome(scan)
            if reference is None:
                reference = outcome
            elif outcome != reference:
                raise SystemExit(f"{name}: results differ from duckdb's")
            warm = statistics.median(times[1:])
            baseline = baseline or warm
            print(
                f"{name:8s} first {times[0]:6.2f} s  warm median {warm:6.2f} s  "
                f"queries {scan.queries}  ratio to duckdb {warm / baseline:6.1f}"
            )
    finally:
        stop_spark()
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
