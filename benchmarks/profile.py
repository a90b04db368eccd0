"""Profile benchmark: the one-pass DuckDB profile against two baselines in the same run.

    .venv/bin/python benchmarks/profile.py [--rows 10000000] [--rounds 3] [--folder DIR]

The sample generator's orders table (11 columns) is profiled, several rounds, by:

* **one pass**: ``andon.data.profile.profile_table`` on DuckDB (one query: statistics,
  top-value sketches, a 10,000-row sample);
* **three queries**: the same profile by the portable path PostgreSQL and Spark use (the
  aggregate, a ``UNION ALL`` of ``GROUP BY`` for exact top values, a Bernoulli sample), run on
  the same DuckDB connection;
* **SUMMARIZE**: DuckDB's own one-pass summary (null share, approximate distinct, min, max,
  mean, quartiles; no top values, formats, units or sample), the floor for one scan.

Median seconds per path and the ratios one-pass / three-queries and one-pass / SUMMARIZE are
printed. The three-query path is also checked to report the same row count. See RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from andon.data import profile  # noqa: E402
from andon.data.contracts import parse_contract, read_contract_file  # noqa: E402
from andon.data.sample import generate  # noqa: E402


def _median(runs: list[float]) -> float:
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=None, help="reuse generated data here")
    args = parser.parse_args()

    folder = args.folder or Path(tempfile.mkdtemp(prefix="andon-bench-profile-"))
    if not (folder / "orders.parquet").exists():
        started = time.perf_counter()
        generate(folder, rows=args.rows)
        print(f"generated {args.rows:,} orders in {time.perf_counter() - started:.1f} s")
    contract = parse_contract(read_contract_file(folder / "orders.odcs.yaml"))
    obj = contract.table("orders")
    assert obj is not None
    source = profile.open_source(contract, folder, "orders", None)
    timings: dict[str, list[float]] = {"one pass": [], "three queries": [], "SUMMARIZE": []}
    try:
        t = source.table("orders")
        schema = t.schema()
        cols = list(zip(schema.names, schema.types, strict=True))
        label = "orders"
        profile.profile_table(source, obj)  # warm the file cache and the connection
        for _ in range(args.rounds):
            started = time.perf_counter()
            one = profile.profile_table(source, obj)
            timings["one pass"].append(time.perf_counter() - started)

            started = time.perf_counter()
            three = profile._three_queries(source, t, cols, label, profile.SAMPLE_ROWS)
            timings["three queries"].append(time.perf_counter() - started)

            started = time.perf_counter()
            source.con.con.sql('SUMMARIZE SELECT * FROM "orders"').fetchall()
            timings["SUMMARIZE"].append(time.perf_counter() - started)
            assert int(three.row["__andon_rows"]) == one.rows
    finally:
        source.close()

    print(f"machine: {platform.machine()}, python {platform.python_version()}, rows {one.rows:,}")
    print(f"one pass: {one.queries} query; top-value counts estimated: "
          f"{any(c.top_value_counts_estimated for c in one.columns)}")  # fmt: skip
    for name, runs in timings.items():
        print(
            f"{name:14} median {_median(runs):.2f} s  (runs: {', '.join(f'{r:.2f}' for r in runs)})"
        )
    base = _median(timings["one pass"])
    print(f"ratio one pass / three queries: {base / _median(timings['three queries']):.2f}")
    print(f"ratio one pass / SUMMARIZE:     {base / _median(timings['SUMMARIZE']):.2f}")


if __name__ == "__main__":
    main()
