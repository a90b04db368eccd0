"""Classification benchmark: fields classified per second, 1,000 sampled values each.

    .venv/bin/python benchmarks/classify.py [--fields 3000] [--values 1000] [--rounds 3]

A synthetic, deterministic set of mixed fields is made in-process (emails, phones, UUIDs,
payment cards with valid Luhn digits, IBANs with valid check digits, IPs, names, addresses,
national ids, dates of birth, amounts, currencies, statuses, free text, integers, floats,
timestamps; a quarter of the fields have uninformative names, so only their values speak).
``andon.data.classify.classify_fields`` then tags every field, several rounds; the rate is
fields per second of the median round, printed with its ratio to the 3,000 fields/s target,
both by the wall clock and by this process's CPU time (the classifier is single-threaded, so on
an idle machine the two agree; on a shared one the CPU figure is the code's own speed).

The default classifier measures each format's share over up to 256 values spread evenly over
the 1,000 sampled (``validators.VALIDATED``); a second line validates every sampled value
(``--validate 1000``) for reference. See RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from andon.data import validators  # noqa: E402
from andon.data.classify import classify_fields  # noqa: E402

TARGET = 3000.0
FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
STREETS = ["Main Street", "Oak Avenue", "High St", "Park Road", "Elm Drive"]


def _card(r: random.Random) -> str:
    body = [r.randint(0, 9) for _ in range(15)]
    for check in range(10):
        number = "".join(map(str, [*body, check]))
        if validators.luhn_valid(number):
            return number
    raise AssertionError("unreachable: one check digit always fits")


def _iban(r: random.Random) -> str:
    bban = "".join(str(r.randint(0, 9)) for _ in range(18))
    moved = bban + "1314" + "00"  # D=13, E=14, check digits 00
    check = 98 - int(moved) % 97
    return f"DE{check:02d}{bban}"


Maker = Callable[[random.Random], Any]
KINDS: list[tuple[str, str, Maker]] = [
    ("customer_email", "c1", lambda r: f"user{r.randint(1, 10**6)}@example.com"),
    ("phone", "c2", lambda r: f"+1 415 555 {r.randint(1000, 9999)}"),
    ("event_id", "c3", lambda r: str(uuid.UUID(int=r.getrandbits(128)))),
    ("card_number", "c4", _card),
    ("iban", "c5", _iban),
    ("client_ip", "c6", lambda r: f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"),
    ("full_name", "c7", lambda r: f"{r.choice(FIRST)} {r.choice(LAST)}"),
    ("street_address", "c8", lambda r: f"{r.randint(1, 999)} {r.choice(STREETS)}"),
    ("ssn", "c9", lambda r: f"{r.randint(100, 665)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}"),
    ("date_of_birth", "c10", lambda r: date(1950, 1, 1) + timedelta(days=r.randint(0, 20000))),
    ("amount_usd", "c11", lambda r: round(r.random() * 500, 2)),
    ("currency", "c12", lambda r: r.choice(["USD", "EUR", "GBP"])),
    ("status", "c13", lambda r: r.choice(["placed", "shipped", "delivered", "cancelled"])),
    ("comment", "c14", lambda r: r.choice(["ok", "late delivery", "call me back", "n/a"])),
    ("quantity", "c15", lambda r: r.randint(1, 100)),
    ("score", "c16", lambda r: r.random()),
    ("created_at", "c17", lambda r: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=r.randint(0, 10**7))),
    ("order_ref", "c18", lambda r: f"ORD-{r.randint(0, 10**8):08d}"),
]  # fmt: skip


def make_fields(count: int, values: int, seed: int = 7) -> list[tuple[str, list[Any]]]:
    """``count`` fields cycling through KINDS; every fourth has an uninformative name."""
    r = random.Random(seed)
    out = []
    for i in range(count):
        name, anonymous, make = KINDS[i % len(KINDS)]
        column = f"{anonymous}_{i}" if i % 4 == 3 else f"{name}_{i}"
        sample = [None if r.random() < 0.02 else make(r) for _ in range(values)]
        out.append((column, sample))
    return out


def measure(fields: list[tuple[str, list[Any]]], rounds: int, validate: int) -> tuple[float, float]:
    """Median wall and CPU seconds of one full classification of ``fields``."""
    saved = validators.VALIDATED
    validators.VALIDATED = validate
    try:
        classify_fields(fields[:50])  # warm: imports and regex compilation
        wall, cpu = [], []
        for _ in range(rounds):
            started, started_cpu = time.perf_counter(), time.process_time()
            classify_fields(fields)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        return statistics.median(wall), statistics.median(cpu)
    finally:
        validators.VALIDATED = saved


def main() -> None:
    """Run the benchmark and print rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=3000)
    parser.add_argument("--values", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, load {os.getloadavg()}")
    fields = make_fields(args.fields, args.values)
    results = classify_fields(fields)
    tagged = sum(1 for c in results if c.category != "operational")
    print(f"{args.fields} fields x {args.values} values; {tagged} tagged pii or financial")
    for label, validate in (("default (256 validated)", validators.VALIDATED),
                            ("every value validated", args.values)):  # fmt: skip
        wall, cpu = measure(fields, args.rounds, validate)
        for clock, seconds in (("wall", wall), ("cpu", cpu)):
            rate = args.fields / seconds
            print(
                f"{label:>24} [{clock}]: {seconds:.3f} s, {rate:,.0f} fields/s, "
                f"ratio to the {TARGET:,.0f}/s target: {rate / TARGET:.2f}"
            )


if __name__ == "__main__":
    main()
