"""What every command costs before it does anything: a whole ``andon`` process.

    .venv/bin/python benchmarks/startup.py [--rounds 9] [--baseline REV]

Times, in interleaved rounds, whole processes on one initialised home (SQLite):

- ``python``: ``python -c pass`` with this venv, the floor;
- ``andon run list``: this checkout's CLI (imports, settings, the store's schema check, one
  listing query, Rich output);
- ``baseline run list`` (with ``--baseline REV``): the same command from commit ``REV``, checked
  out in a temporary worktree and run with the same venv (``PYTHONPATH`` on its ``src``), which
  shows what a change did to start-up;

each once as installed and once with ``PYTHONDONTWRITEBYTECODE=1``. Prints medians and the
ratio to the baseline commit (or to ``python`` without one). See RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = "import sys; from andon.cli.main import main; main(sys.argv[1:])"


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    """Run the rounds and print one table per bytecode setting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--baseline", help="a commit to compare with, e.g. HEAD~1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANDON_")}
        env |= {"ANDON_HOME": str(home), "COLUMNS": "120"}
        trees = {"andon run list": ROOT}
        if args.baseline:
            tree = Path(tmp) / "baseline"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree),
                 args.baseline], check=True)  # fmt: skip
            trees["baseline run list"] = tree
        try:
            subprocess.run([sys.executable, "-c", RUN, "init"], env={**env, "PYTHONPATH": str(ROOT / "src")},
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            for label, extra in (("installed", {}), ("PYTHONDONTWRITEBYTECODE=1", {"PYTHONDONTWRITEBYTECODE": "1"})):  # fmt: skip
                runs: dict[str, list[float]] = {"python": [], **{name: [] for name in trees}}
                for _ in range(args.rounds + 1):  # the first round warms caches, not counted
                    sample = {"python": _time([sys.executable, "-c", "pass"], {**env, **extra})}
                    for name, tree in trees.items():
                        with_tree = {**env, **extra, "PYTHONPATH": str(tree / "src")}
                        sample[name] = _time([sys.executable, "-c", RUN, "run", "list"], with_tree)
                    if _ > 0:
                        for name, seconds in sample.items():
                            runs[name].append(seconds)
                base = "baseline run list" if args.baseline else "python"
                floor = statistics.median(runs[base])
                print(f"\n{label} ({args.rounds} rounds, load {os.getloadavg()[0]:.2f})")
                print(f"{'process':<22} {'median':>9} {'best':>9} {'ratio':>7}")
                for name, seconds in runs.items():
                    med = statistics.median(seconds)
                    print(f"{name:<22} {med:>8.3f}s {min(seconds):>8.3f}s {med / floor:>7.2f}")
        finally:
            if args.baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(Path(tmp) / "baseline")], check=False)  # fmt: skip


if __name__ == "__main__":
    main()
