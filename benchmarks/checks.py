"""Check engine benchmark: 18 checks over a 10,000,000-row Parquet table.

    .venv/bin/python benchmarks/checks.py [--rows 10000000] [--rounds 5] [--folder DIR]

The table is the sample generator's ``orders`` (with its injected defects, so failing checks
also fetch their sample rows). Two things are timed, in alternating order, several rounds:

* **andon**: ``andon.data.compile.run`` on a one-table contract with 18 checks: the one
  aggregate (the checks plus the dataset version's row count and per-column fingerprints),
  the samples query for the checks that fail, result evaluation. In process, Ibis warm.
* **baseline**: one hand-written DuckDB SQL query computing the same 18 check aggregates
  (``COUNT(*) FILTER (WHERE ...)``, ``COUNT - COUNT(DISTINCT)``, ``MAX``) on a fresh
  connection, no fingerprints, no samples.

The ratio is the median of the per-round ratios. The whole `andon check run` process (start-up,
metadata store, storing the run) is timed once more for reference.

``--whole`` (default 5,000,000 rows) times what users wait for instead: whole processes of
`andon check run`, one hand-written DuckDB query and Soda Core v4 on one DuckDB file
(:mod:`benchmarks.checks_whole`). See RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import duckdb  # noqa: E402
import yaml  # type: ignore[import-untyped]  # noqa: E402

from andon.data import compile as engine  # noqa: E402
from andon.data.contracts import parse_contract  # noqa: E402
from andon.data.sample import generate  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

STATUSES = ["placed", "shipped", "delivered", "cancelled"]
COUNTRIES = ["US", "DE", "FR", "GB", "JP"]


def _lib(metric: str, **extra: Any) -> dict[str, Any]:
    return {"metric": metric, **extra}


def contract_doc() -> dict[str, Any]:
    """One table, 18 scanning checks (2 implied by required/unique)."""

    def prop(name: str, logical: str, *rules: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"name": name, "logicalType": logical, "quality": list(rules), **extra}

    return {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "bench-orders",
        "version": "1",
        "status": "active",
        "servers": [{"server": "local", "type": "parquet", "path": "."}],
        "schema": [
            {
                "name": "orders",
                "quality": [_lib("rowCount", mustBeGreaterThan=0)],  # 1
                "properties": [
                    prop("order_id", "integer", required=True, unique=True),  # 2, 3
                    prop("customer_id", "integer", _lib("nullValues")),  # 4
                    prop("customer_email", "string", _lib("nullValues")),  # 5
                    prop(
                        "order_ref",
                        "string",
                        _lib("invalidValues", arguments={"pattern": "^ORD-[0-9]{8}$"}),  # 6
                    ),
                    prop(
                        "status",
                        "string",
                        _lib("invalidValues", arguments={"validValues": STATUSES}),  # 7
                        _lib("missingValues"),  # 8
                    ),
                    prop(
                        "shipping_country",
                        "string",
                        _lib("nullValues", mustBeLessThan=1, unit="percent"),  # 9
                        _lib("invalidValues", arguments={"validValues": COUNTRIES}),  # 10
                    ),
                    prop(
                        "quantity",
                        "integer",
                        _lib("outOfRange", arguments={"minimum": 1, "maximum": 100}),  # 11
                        _lib("nullValues"),  # 12
                    ),
                    prop(
                        "amount_usd",
                        "number",
                        _lib("unitMismatch", arguments={"unit": "USD", "maximum": 1000}),  # 13
                        _lib("outOfRange", arguments={"minimum": 0, "maximum": 100000}),  # 14
                    ),
                    prop(
                        "weight_kg",
                        "number",
                        _lib("unitMismatch", arguments={"unit": "kg", "maximum": 50}),  # 15
                        _lib("nullValues"),  # 16
                    ),
                    prop("order_ts", "timestamp"),
                    prop(
                        "legacy_channel",
                        "string",
                        _lib("invalidValues", arguments={"validValues": ["web", "store"]}),  # 17
                    ),
                ],
            }
        ],
        "slaProperties": [  # 18
            {"property": "freshness", "value": 1, "unit": "d", "element": "orders.order_ts"}
        ],
    }


def baseline_sql(source: str) -> str:
    """The same 18 aggregates, written by hand, over ``source`` (a table or table function)."""
    s = ", ".join(f"'{v}'" for v in STATUSES)
    c = ", ".join(f"'{v}'" for v in COUNTRIES)
    return f"""
    SELECT
      COUNT(*),
      COUNT(*) FILTER (WHERE order_id IS NULL),
      COUNT(order_id) - COUNT(DISTINCT order_id),
      COUNT(*) FILTER (WHERE customer_id IS NULL),
      COUNT(*) FILTER (WHERE customer_email IS NULL),
      COUNT(*) FILTER (WHERE order_ref IS NOT NULL
                       AND NOT regexp_matches(order_ref, '^ORD-[0-9]{{8}}$')),
      COUNT(*) FILTER (WHERE status IS NOT NULL AND status NOT IN ({s})),
      COUNT(*) FILTER (WHERE status IS NULL OR status = ''),
      COUNT(*) FILTER (WHERE shipping_country IS NULL),
      COUNT(*) FILTER (WHERE shipping_country IS NOT NULL AND shipping_country NOT IN ({c})),
      COUNT(*) FILTER (WHERE quantity < 1 OR quantity > 100),
      COUNT(*) FILTER (WHERE quantity IS NULL),
      COUNT(*) FILTER (WHERE amount_usd > 1000 AND amount_usd / 100 <= 1000),
      COUNT(*) FILTER (WHERE amount_usd < 0 OR amount_usd > 100000),
      COUNT(*) FILTER (WHERE weight_kg > 50 AND weight_kg / 1000 <= 50),
      COUNT(*) FILTER (WHERE weight_kg IS NULL),
      COUNT(*) FILTER (WHERE legacy_channel IS NOT NULL
                       AND legacy_channel NOT IN ('web', 'store')),
      MAX(order_ts)
    FROM {source}
    """


def run_andon(folder: Path) -> tuple[float, engine.Scan]:
    contract = parse_contract(yaml.safe_dump(contract_doc()))
    started = time.perf_counter()
    scan = engine.run(contract, folder, now=NOW)
    return time.perf_counter() - started, scan


def run_baseline(folder: Path) -> tuple[float, tuple[Any, ...]]:
    started = time.perf_counter()
    con = duckdb.connect()
    row = con.execute(baseline_sql(f"read_parquet('{folder / 'orders.parquet'}')")).fetchone()
    con.close()
    assert row is not None
    return time.perf_counter() - started, row


def run_process(folder: Path) -> float:
    """The whole `andon check run` process on a fresh ANDON_HOME (start-up included)."""
    andon = str(Path(sys.executable).with_name("andon"))
    home = Path(tempfile.mkdtemp(prefix="andon-bench-home-"))
    env = {**os.environ, "ANDON_HOME": str(home)}
    contract = folder / "bench.odcs.yaml"
    for args in (["init"], ["team", "create", "bench"], ["contract", "apply", str(contract),
                                                          "--team", "bench"]):  # fmt: skip
        subprocess.run([andon, *args], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    proc = subprocess.run(
        [andon, "check", "run", "bench-orders", "-f", "json"], env=env, capture_output=True
    )
    elapsed = time.perf_counter() - started
    assert proc.returncode in (0, 4), proc.stderr
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="10,000,000; --whole: 5,000,000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--folder", type=Path, default=None, help="Reuse a generated sample.")
    parser.add_argument("--whole", action="store_true", help="Whole processes, with Soda Core v4.")
    parser.add_argument("--no-soda", action="store_true", help="--whole without Soda Core.")
    parser.add_argument("--venv", action="append", default=[], metavar="LABEL=PATH",
                        help="--whole: also andon from this venv, PYTHONDONTWRITEBYTECODE=1.")  # fmt: skip
    args = parser.parse_args()
    if args.whole:
        from benchmarks import checks_whole

        checks_whole.run(args.rows or 5_000_000, args.rounds, not args.no_soda, args.venv)
        return
    args.rows = args.rows or 10_000_000
    folder = args.folder or Path(tempfile.mkdtemp(prefix="andon-bench-checks-"))
    if not (folder / "orders.parquet").exists():
        started = time.perf_counter()
        generate(folder, rows=args.rows, seed=7, now=NOW)
        print(f"generated {args.rows:,} orders in {time.perf_counter() - started:.1f} s")
    (folder / "bench.odcs.yaml").write_text(yaml.safe_dump(contract_doc()))
    contract = parse_contract(yaml.safe_dump(contract_doc()))
    from andon.data.checks import plan

    scanning = [c for c in plan(contract)]
    print(f"{len(scanning)} checks over {folder / 'orders.parquet'}")
    assert len(scanning) == 18, len(scanning)
    run_andon(folder)  # warm Ibis and the file cache
    run_baseline(folder)
    ratios, andon_t, base_t = [], [], []
    for i in range(args.rounds):
        if i % 2:
            b, row = run_baseline(folder)
            a, scan = run_andon(folder)
        else:
            a, scan = run_andon(folder)
            b, row = run_baseline(folder)
        andon_t.append(a)
        base_t.append(b)
        ratios.append(a / b)
        print(f"round {i + 1}: andon {a:.3f} s ({scan.queries} queries), baseline {b:.3f} s, "
              f"ratio {a / b:.2f}")  # fmt: skip
    failed = {r.check: r.failed_rows for r in scan.results if r.status == "fail"}
    # The baseline and andon agree on what they count.
    assert failed["orders.status.invalidValues"] == row[6], (failed, row)
    assert failed["orders.amount_usd.unitMismatch"] == row[12]
    assert failed["orders.order_id.unique"] == row[2]
    process = run_process(folder)
    print(
        f"\n{platform.python_version()} duckdb {duckdb.__version__}, {os.cpu_count()} CPUs\n"
        f"andon median {statistics.median(andon_t):.3f} s, baseline median "
        f"{statistics.median(base_t):.3f} s\n"
        f"ratio (median of rounds) {statistics.median(ratios):.2f}; "
        f"ratio of totals {sum(andon_t) / sum(base_t):.2f}\n"
        f"whole `andon check run` process (start-up, store, results): {process:.3f} s"
    )


if __name__ == "__main__":
    main()
