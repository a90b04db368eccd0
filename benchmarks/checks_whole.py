"""``checks.py --whole``: the same 18 checks as whole processes, as users wait for them.

    .venv/bin/python benchmarks/checks.py --whole [--rows 5000000] [--rounds 5] [--no-soda]
        [--venv LABEL=PATH ...]

One DuckDB file (``benchmarks/.cache/checks-<rows>/orders.duckdb``: the sample generator's
``orders`` with its injected defects, copied into a table by DuckDB SQL) and, in interleaved
rounds after one warm-up round, each as a subprocess:

* **hand**: ``python -c`` opening the file with duckdb and running one hand-written aggregate
  computing exactly the 18 counts (:func:`benchmarks.checks.baseline_sql`);
* **andon**: ``andon check run`` (the real CLI, its own ``ANDON_HOME``, the contract applied once
  before timing), and the same with ``PYTHONDONTWRITEBYTECODE=1``;
* **soda**: Soda Core v4 (``soda contract verify``) from its own virtual environment, installed
  by this script into ``benchmarks/.cache/soda-venv`` (skipped, saying why, when it cannot be);
* with ``--venv LABEL=PATH``: ``andon check run`` from another virtual environment of this
  checkout (say one installed without compiled bytecode), with ``PYTHONDONTWRITEBYTECODE=1``.

Ratios are of medians, against the hand query. After the rounds, one probe run per tool
records the queries it sent and the time from process start to its first SQL statement: the
tool's own query entry point is wrapped (andon: ``duckdb_direct.log_query``, and Ibis's query
log should andon import Ibis; Soda: its ``DataSourceConnection`` methods; hand: its one
``execute``), and the time is taken against the parent's clock just before the spawn. See
RESULTS.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
SODA_PACKAGE = "soda-duckdb==4.28.0"
SODA_VENV = CACHE / "soda-venv"
CONTRACT_ID = "bench-orders"

STATUSES = ["placed", "shipped", "delivered", "cancelled"]
COUNTRIES = ["US", "DE", "FR", "GB", "JP"]

# Each probe prints one JSON line: {"first_sql": seconds since the spawn, "queries": n}.
HAND = """
import os, sys, time
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
first = time.time() - float(os.environ.get("BENCH_T0", "nan"))
row = con.execute(sys.argv[2]).fetchone()
if os.environ.get("BENCH_PROBE"):
    import json; print(json.dumps({"first_sql": first, "queries": 1}), file=sys.stderr)
else:
    import json; print(json.dumps(list(row), default=str))
"""

# andon on DuckDB sends its statements through ``andon.data.duckdb_direct.log_query`` (Ibis is
# not imported); through Ibis (PostgreSQL, Spark, or a DuckDB contract Ibis must write) they
# reach Ibis's query log, which is wrapped when andon imports Ibis.
ANDON_PROBE = """
import atexit, builtins, json, os, sys, time
import andon.data.duckdb_direct as direct
seen = []
def log(sql):
    seen.append(time.time())
direct.log_query = log
real_import = builtins.__import__
def hooked(name, *args, **kwargs):
    module = real_import(name, *args, **kwargs)
    ibis = sys.modules.get("ibis")
    if ibis is not None and hasattr(ibis, "options") and not ibis.options.verbose:
        ibis.options.verbose, ibis.options.verbose_log = True, log
    return module
builtins.__import__ = hooked
atexit.register(lambda: print(json.dumps({"first_sql": seen[0] - float(os.environ["BENCH_T0"]),
                                          "logged": len(seen)}), file=sys.stderr))
from andon.cli.main import main
main(sys.argv[1:])
"""

SODA_PROBE = """
import atexit, json, os, sys, time
from soda_core.common import data_source_connection as dsc
seen = []
def wrap(name):
    original = getattr(dsc.DataSourceConnection, name)
    def timed(self, *args, **kwargs):
        seen.append(time.time())
        return original(self, *args, **kwargs)
    setattr(dsc.DataSourceConnection, name, timed)
for name in ("execute_query", "execute_update", "execute_query_one_by_one",
             "execute_query_one_by_one_prefer_streaming", "execute_query_iterate"):
    wrap(name)
atexit.register(lambda: print(json.dumps({"first_sql": seen[0] - float(os.environ["BENCH_T0"]),
                                          "queries": len(seen)}), file=sys.stderr))
from soda_core.cli.cli import execute
sys.argv[0] = "soda"
execute()
"""


def duckdb_server(db: Path) -> dict[str, Any]:
    """The contract's one server, as the ODCS standard writes a DuckDB file."""
    return {"server": "local", "type": "duckdb", "database": str(db), "schema": "main"}


def andon_contract(db: Path) -> dict[str, Any]:
    """The 18-check contract of the in-process benchmark, on the DuckDB file ``db``, in the
    standard's shapes (what a user would write: no deprecation notice, no upgrade on read)."""
    from benchmarks.checks import contract_doc

    from andon.data.dialect import upgrade

    standard, _ = upgrade({**contract_doc(), "servers": [duckdb_server(db)]})
    return standard


def soda_datasource(db: Path) -> dict[str, Any]:
    """Soda Core v4's data source file for ``db``."""
    return {
        "type": "duckdb",
        "name": "bench",
        "connection": {"database": str(db), "schema": "main"},
    }


def soda_contract() -> dict[str, Any]:
    """The same 18 checks in Soda Core v4's contract language (same predicates, same counts)."""

    def col(name: str, *checks: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "checks": list(checks)}

    return {
        "dataset": "bench/main/orders",
        "checks": [
            {"row_count": {"threshold": {"must_be_greater_than": 0}}},  # 1
            {
                "freshness": {
                    "column": "order_ts",
                    "threshold": {"unit": "day", "must_be_less_than": 1},
                }
            },  # 18
        ],
        "columns": [
            col("order_id", {"missing": None}, {"duplicate": None}),  # 2, 3
            col("customer_id", {"missing": None}),  # 4
            col("customer_email", {"missing": None}),  # 5
            col(
                "order_ref",
                {"invalid": {"valid_format": {"name": "order ref", "regex": "^ORD-[0-9]{8}$"}}},
            ),  # 6
            col(
                "status",
                {"invalid": {"valid_values": STATUSES}},
                {"missing": {"missing_values": [""]}},
            ),  # 7, 8
            col(
                "shipping_country",
                {"missing": {"threshold": {"metric": "percent", "must_be_less_than": 1}}},  # 9
                {"invalid": {"valid_values": COUNTRIES}},  # 10
            ),
            col(
                "quantity", {"invalid": {"valid_min": 1, "valid_max": 100}}, {"missing": None}
            ),  # 11, 12
            col(
                "amount_usd",
                {
                    "failed_rows": {
                        "name": "unit mismatch",
                        "expression": "amount_usd > 1000 AND amount_usd / 100 <= 1000",
                    }
                },  # 13
                {"invalid": {"valid_min": 0, "valid_max": 100000}},  # 14
            ),
            col(
                "weight_kg",
                {
                    "failed_rows": {
                        "name": "unit mismatch",
                        "expression": "weight_kg > 50 AND weight_kg / 1000 <= 50",
                    }
                },  # 15
                {"missing": None},  # 16
            ),
            col("legacy_channel", {"invalid": {"valid_values": ["web", "store"]}}),  # 17
        ],
    }


def ratios_of_medians(times: dict[str, list[float]], base: str) -> dict[str, float]:
    """Each entry's median over the base entry's median."""
    floor = statistics.median(times[base])
    return {name: statistics.median(seconds) / floor for name, seconds in times.items()}


def rotated(names: list[str], round_no: int) -> list[str]:
    """The order of one round: rotated by the round number, so no entry always goes first."""
    k = round_no % len(names)
    return names[k:] + names[:k]


def make_table(folder: Path, rows: int) -> Path:
    """The DuckDB file with the sample's ``orders`` (generated once per row count, cached)."""
    import duckdb
    from benchmarks.checks import NOW

    from andon.data.sample import generate

    db = folder / "orders.duckdb"
    if db.exists():
        return db
    started = time.perf_counter()
    generate(folder / "parquet", rows=rows, seed=7, now=NOW)
    con = duckdb.connect(str(db))
    orders = str(folder / "parquet" / "orders.parquet").replace("'", "''")
    con.execute(f"CREATE TABLE orders AS SELECT * FROM read_parquet('{orders}')")
    con.close()
    print(f"generated {rows:,} orders into {db} in {time.perf_counter() - started:.1f} s")
    return db


def soda_bin() -> tuple[Path | None, str]:
    """Soda's executable (installing it on first use) or ``None`` and the reason."""
    soda = SODA_VENV / "bin" / "soda"
    if soda.exists():
        return soda, "installed"
    try:
        subprocess.run(["python3", "-m", "venv", str(SODA_VENV)], check=True, capture_output=True)
        subprocess.run([str(SODA_VENV / "bin" / "pip"), "install", "-q", SODA_PACKAGE],
                       check=True, capture_output=True, text=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return None, f"cannot install {SODA_PACKAGE}: {detail.strip().splitlines()[-1:]}"
    return (soda, "installed now") if soda.exists() else (None, "pip installed no soda script")


def _environ() -> dict[str, str]:
    """This environment without ``PYTHONDONTWRITEBYTECODE``: each entry sets it or not."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def andon_home(db: Path, contract: Path, python: Path) -> dict[str, str]:
    """A fresh ANDON_HOME with team ``bench``, the file's folder granted and the contract
    applied (with the andon of ``python``'s venv)."""
    home = Path(tempfile.mkdtemp(prefix="andon-bench-whole-"))
    env = {k: v for k, v in _environ().items() if not k.startswith("ANDON_")}
    env |= {"ANDON_HOME": str(home), "COLUMNS": "120"}
    andon = str(python.with_name("andon"))
    for args in (["init"], ["team", "create", "bench"], ["data", "root", "add", "bench", str(db.parent)],
                 ["contract", "apply", str(contract), "--team", "bench"]):  # fmt: skip
        subprocess.run([andon, *args], env=env, check=True, capture_output=True)
    return env


def _timed(argv: list[str], env: dict[str, str], ok: tuple[int, ...]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if proc.returncode not in ok:
        raise SystemExit(f"{argv[0]} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return elapsed


def _probe(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    env = {**env, "BENCH_PROBE": "1", "BENCH_T0": repr(time.time())}
    proc = subprocess.run(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith('{"first_sql"')]
    return dict(json.loads(lines[-1])) if lines else {}


def run(rows: int, rounds: int, use_soda: bool, venvs: list[str]) -> None:
    """Build the table and homes, time the interleaved rounds, probe, print the table."""
    import yaml  # type: ignore[import-untyped]
    from benchmarks.checks import baseline_sql

    folder = CACHE / f"checks-{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    db = make_table(folder, rows)
    contract = folder / "bench.odcs.yaml"
    contract.write_text(yaml.safe_dump(andon_contract(db)))
    python = Path(sys.executable)
    sql = baseline_sql("orders")
    andon_env = andon_home(db, contract, python)
    check = ["check", "run", CONTRACT_ID, "-f", "json"]
    nobc = {"PYTHONDONTWRITEBYTECODE": "1"}
    entries: dict[str, tuple[list[str], dict[str, str], tuple[int, ...]]] = {
        "hand query": ([str(python), "-c", HAND, str(db), sql], andon_env, (0,)),
        "andon check run": ([str(python.with_name("andon")), *check], andon_env, (0, 4)),
        "andon, PYTHONDONTWRITEBYTECODE=1": (
            [str(python.with_name("andon")), *check], {**andon_env, **nobc}, (0, 4)),
    }  # fmt: skip
    for spec in venvs:
        label, _, path = spec.partition("=")
        other = Path(path).resolve() / "bin" / "python"
        env = {**andon_home(db, contract, other), **nobc}
        entries[f"andon ({label}), PYTHONDONTWRITEBYTECODE=1"] = (
            [str(other.with_name("andon")), *check], env, (0, 4))  # fmt: skip
    soda, why = soda_bin() if use_soda else (None, "--no-soda")
    soda_files = (folder / "soda-ds.yml", folder / "soda-orders.yml")
    if soda:
        soda_files[0].write_text(yaml.safe_dump(soda_datasource(db)))
        soda_files[1].write_text(yaml.safe_dump(soda_contract(), sort_keys=False))
        soda_env = {**_environ(), "SODA_CORE_TELEMETRY_ENABLED": "false"}
        soda_args = ["contract", "verify", "-c", str(soda_files[1]), "-ds", str(soda_files[0])]
        entries["soda core v4"] = ([str(soda), *soda_args], soda_env, (0, 1))
    else:
        print(f"Soda Core skipped: {why}")
    loads = [os.getloadavg()[0]]
    names = list(entries)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds + 1):  # round 0 warms the page cache and the venvs' bytecode
        for name in rotated(names, r):
            seconds = _timed(*entries[name])
            if r:
                times[name].append(seconds)
        if r:
            print(f"round {r}: " + ", ".join(f"{n} {times[n][-1]:.2f} s" for n in names))
    loads.append(os.getloadavg()[0])
    # What andon counted: its own JSON says how many queries it ran and what failed.
    out = subprocess.run(entries["andon check run"][0], env=andon_env, capture_output=True)
    result = json.loads(out.stdout)
    hand_row = json.loads(subprocess.run(entries["hand query"][0], capture_output=True,
                                         text=True, check=True).stdout)  # fmt: skip
    failed = {r["check"]: r.get("failed_rows") for r in result["results"] if r["status"] == "fail"}
    assert failed["orders.status.invalidValues"] == hand_row[6], (failed, hand_row)
    assert failed["orders.amount_usd.unitMismatch"] == hand_row[12], (failed, hand_row)
    probes = {
        "hand query": _probe(entries["hand query"][0], andon_env),
        "andon check run": _probe([str(python), "-c", ANDON_PROBE, *check], andon_env),
    }
    probes["andon check run"]["queries"] = result["queries"]
    if soda:
        probes["soda core v4"] = _probe([str(SODA_VENV / "bin" / "python"), "-c", SODA_PROBE,
                                         *soda_args], soda_env)  # fmt: skip
    ratios = ratios_of_medians(times, "hand query")
    print(f"\n{rows:,} rows, {rounds} rounds, load {loads[0]:.2f} -> {loads[1]:.2f}")
    print(f"{'process':<44} {'median':>8} {'best':>8} {'ratio':>6} {'queries':>8} {'1st SQL':>8}")
    for name in names:
        p = probes.get(name, {})
        q, first = p.get("queries", ""), p.get("first_sql")
        print(f"{name:<44} {statistics.median(times[name]):>7.3f}s {min(times[name]):>7.3f}s "
              f"{ratios[name]:>6.2f} {q!s:>8} {'' if first is None else f'{first:.3f}s':>8}")  # fmt: skip
