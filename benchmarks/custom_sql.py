"""Custom SQL rules in the sandbox: what a user waits for, against the same SQL by hand.

    .venv/bin/python benchmarks/custom_sql.py [--rows 1000000] [--rounds 7] [--unboxed ANDON]

Generates the sample orders (``andon.data.sample.generate``) into a temp folder and a contract
on it whose only checks are four ``type: sql`` rules. Then, in interleaved rounds, times whole
processes, start-up and imports included:

- ``duckdb``: a Python process that imports DuckDB and runs the four queries by hand, open
  (no sandbox): the baseline;
- ``andon``: ``andon check run`` on an initialised home, each rule parsed, vetted as one
  SELECT and run on the locked-down connection (external access off but for the dataset's
  files, configuration locked, memory and time limits);

- ``unboxed`` (with ``--unboxed``, the ``andon`` executable of a checkout from before the
  sandbox, e.g. commit ec50174 in a worktree with its own ``make env``): the same command on an
  open DuckDB connection, which shows what the sandbox itself costs;

each once as installed and once with ``PYTHONDONTWRITEBYTECODE=1`` (what CI and containers
often set). Prints medians and the ratio to the baseline of the same bytecode setting. In
process, it also times the vetting alone (``sql_guard.vet_contract``) per rule. See RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]

from andon.data.contracts import parse_contract  # noqa: E402
from andon.data.sample import generate  # noqa: E402
from andon.data.sql_guard import vet_contract  # noqa: E402

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

RULES = {
    "big_orders": "SELECT count(*) FROM ${object} WHERE amount_usd > 50000",
    "late_ts": "SELECT count(*) FROM ${object} WHERE order_ts > TIMESTAMP '2030-01-01'",
    "dup_refs": "SELECT count(*) - count(DISTINCT order_ref) FROM ${object}",
    "heavy_share": (
        "WITH w AS (SELECT weight_kg FROM ${object} WHERE weight_kg IS NOT NULL) "
        "SELECT CAST(100 * count(*) FILTER (WHERE weight_kg > 40) AS DOUBLE) / count(*) FROM w"
    ),
}


def contract_doc() -> dict[str, object]:
    """A contract on the sample's orders whose checks are the four custom SQL rules."""
    return {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "bench-sql",
        "version": "1.0.0",
        "status": "active",
        "servers": [{"server": "local", "type": "parquet", "path": "."}],
        "schema": [
            {
                "name": "orders",
                "physicalName": "orders",
                "properties": [{"name": "order_id", "logicalType": "integer"}],
                "quality": [
                    {"name": n, "type": "sql", "query": q, "mustBeGreaterOrEqualTo": 0}
                    for n, q in RULES.items()
                ],
            }
        ],
    }


def by_hand(path: Path) -> str:
    """The Python a user would write for the same four numbers, open DuckDB."""
    queries = [q.replace("${object}", f"read_parquet('{path}')") for q in RULES.values()]
    return (
        "import duckdb\ncon = duckdb.connect()\n"
        f"for q in {queries!r}:\n    con.execute(q).fetchone()\n"
    )


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one whole process; fails loudly on a non-zero exit."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return elapsed


def main() -> None:
    """Run the rounds and print one line per process and bytecode setting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--unboxed", help="andon executable from before the sandbox")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="andon-bench-sql-"))
    generate(folder, rows=args.rows, seed=7, now=NOW)
    contract_path = folder / "bench-sql.odcs.yaml"
    contract_path.write_text(yaml.safe_dump(contract_doc(), sort_keys=False))
    andon = str(Path(sys.executable).with_name("andon"))
    executables = {"andon": andon, **({"unboxed": args.unboxed} if args.unboxed else {})}
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    homes: dict[str, str] = {}
    for name, executable in executables.items():
        homes[name] = tempfile.mkdtemp(prefix=f"andon-bench-sql-{name}-")
        for step in (
            ["init"],
            ["team", "create", "bench"],
            ["contract", "apply", str(contract_path), "--team", "bench"],
        ):
            home_env = {**env, "ANDON_HOME": homes[name]}
            subprocess.run([executable, *step], env=home_env, check=True, capture_output=True)
    commands = {"duckdb": [sys.executable, "-c", by_hand(folder / "orders.parquet")]}
    for name, executable in executables.items():
        commands[name] = [executable, "check", "run", "bench-sql", "-f", "json"]
    settings = {"installed": {}, "PYTHONDONTWRITEBYTECODE=1": {"PYTHONDONTWRITEBYTECODE": "1"}}

    def env_for(setting: str, name: str) -> dict[str, str]:
        return {
            **env,
            **settings[setting],
            **({"ANDON_HOME": homes[name]} if name in homes else {}),
        }

    times: dict[tuple[str, str], list[float]] = {(s, c): [] for s in settings for c in commands}
    for name, cmd in commands.items():  # one warm-up each: page cache, bytecode written
        timed(cmd, env_for("installed", name))
    for _ in range(args.rounds):
        for setting in settings:
            for name, cmd in commands.items():
                times[(setting, name)].append(timed(cmd, env_for(setting, name)))
    contract = parse_contract(contract_path.read_text())
    started = time.perf_counter()
    for _ in range(200):
        vet_contract(contract)
    vet_ms = (time.perf_counter() - started) / 200 / len(RULES) * 1000
    print(f"rows {args.rows:,}, {len(RULES)} custom SQL rules, {args.rounds} rounds, "
          f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
    for setting in settings:
        base = statistics.median(times[(setting, "duckdb")])
        for name in commands:
            series = times[(setting, name)]
            med = statistics.median(series)
            print(f"{setting:<26} {name:<7} median {med:6.3f} s  best {min(series):6.3f} s  "
                  f"ratio {med / base:5.2f}")  # fmt: skip
        if "unboxed" in commands:
            boxed = statistics.median(times[(setting, "andon")])
            print(f"{setting:<26} sandbox cost: andon / unboxed {boxed / statistics.median(times[(setting, 'unboxed')]):5.2f}")  # fmt: skip
    print(f"vetting alone (parse + one-SELECT check), in process: {vet_ms:.3f} ms per rule")


if __name__ == "__main__":
    main()
