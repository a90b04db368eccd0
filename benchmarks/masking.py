"""PII masking benchmark: span attribute JSON texts masked per second on one core.

    .venv/bin/python benchmarks/masking.py [--spans 100000] [--rounds 5]

A deterministic mix of span attribute maps is built in-process. Each span has 15 or 16
attributes as compact JSON text: http.method, url.path (some with numeric or dashed ids),
http.status_code, server.address and server.port, service name and version, a user agent,
gen_ai system, model, token counts and response id, the andon endpoint and a UUID request id.
One span in 10 also carries a 200-character prompt, and one in 50 has PII in that prompt (a
card, an e-mail, a phone or an IBAN). ``andon.data.masking.mask_json`` then masks every text
over several rounds. The rate is texts per second of the median round, by the wall clock and
by this process's CPU time (masking is single-threaded).

The same texts are also timed through ``json.loads`` alone, which is what any masker that
parses every text pays at least. The script checks that every span with PII came out masked
and that every other text came back unchanged. See RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from andon.data.masking import MaskPolicy, mask_json  # noqa: E402

TARGET = 300_000.0
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36",
    "python-httpx/0.27.0",
    "OpenAI/Python 1.40.0",
    "curl/8.5.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
PATHS = ["/v1/chat/completions", "/v1/embeddings", "/health", "/api/v1/users/8812/cart",
         "/api/v1/orders/ORD-20241201-0042"]  # fmt: skip
WORDS = ["the", "quick", "brown", "fox", "summarise", "this", "ticket", "for", "customer",
         "please", "and", "reply", "politely", "with", "a", "short", "answer", "about", "order",
         "delivery", "status", "refund", "3", "items", "since", "2024-11-30"]  # fmt: skip
PII = [
    "my card is 4111 1111 1111 1111, mail me at a.b@x.org",
    "call me on +44 20 7946 0958 after six",
    "IBAN DE89 3704 0044 0532 0130 00 thanks",
    "reach jane.doe@example.com today",
    "card 5500-0000-0000-0004 expired",
]


def _prompt(r: random.Random, with_pii: bool) -> str:
    text = " ".join(r.choice(WORDS) for _ in range(40))[:200]
    return text[:140] + " " + r.choice(PII) if with_pii else text


def make_spans(count: int, seed: int = 1) -> list[str]:
    """``count`` attribute texts: a prompt in one span of 10, PII in one span of 50."""
    r = random.Random(seed)
    out = []
    for i in range(count):
        attributes: dict[str, object] = {
            "http.method": r.choice(["GET", "POST"]),
            "url.path": r.choice(PATHS),
            "http.status_code": r.choice([200, 200, 201, 404, 500]),
            "server.address": "api.internal",
            "server.port": 8080,
            "service.name": "checkout",
            "service.version": "1.4.2",
            "user_agent.original": r.choice(AGENTS),
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": r.randint(10, 4000),
            "gen_ai.usage.output_tokens": r.randint(1, 900),
            "gen_ai.response.id": "chatcmpl-" + f"{r.getrandbits(96):024x}",
            "andon.endpoint": "support-bot",
            "request.id": str(uuid.UUID(int=r.getrandbits(128))),
        }
        if i % 10 == 0:
            attributes["gen_ai.prompt"] = _prompt(r, i % 50 == 0)
        out.append(json.dumps(attributes, separators=(",", ":")))
    return out


def measure(texts: list[str], run: Callable[[str], object], rounds: int) -> tuple[float, float]:
    """Median wall and CPU seconds of one pass of ``run`` over ``texts``."""
    for text in texts[:1000]:  # warm: regex compilation, the key cache
        run(text)
    wall, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        for text in texts:
            run(text)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall), statistics.median(cpu)


def check(texts: list[str]) -> int:
    """How many texts came out masked. Fails if a span with PII was missed or a clean text
    changed."""
    masked = 0
    for i, text in enumerate(texts):
        out, counts = mask_json(text)
        has_pii = i % 50 == 0
        if has_pii != bool(counts) or (out != text) != has_pii:
            raise SystemExit(f"span {i}: masked {counts}, expected PII: {has_pii}\n{out}")
        masked += bool(counts)
    return masked


def main() -> None:
    """Run the benchmark and print rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, load {os.getloadavg()}")
    texts = make_spans(args.spans)
    size = sum(map(len, texts)) / len(texts)
    masked = check(texts)
    print(f"{args.spans} attribute texts, {size:.0f} characters on average; {masked} masked")
    by_key = MaskPolicy(allow=frozenset({"server.address", "client.address"}), by_key=True)
    runs: list[tuple[str, Callable[[str], object]]] = [
        ("json.loads alone (reference)", json.loads),
        ("mask_json (default policy)", mask_json),
        ("mask_json (by_key, addresses allowed)", lambda t: mask_json(t, by_key)),
    ]
    for label, run in runs:
        wall, cpu = measure(texts, run, args.rounds)
        rates = {"wall": args.spans / wall, "cpu": args.spans / cpu}
        per = 1e6 * cpu / args.spans
        print(
            f"{label}: {rates['wall']:,.0f}/s wall, {rates['cpu']:,.0f}/s cpu "
            f"({per:.2f} us each), ratio to {TARGET:,.0f}/s (cpu): {rates['cpu'] / TARGET:.2f}"
        )


if __name__ == "__main__":
    main()
