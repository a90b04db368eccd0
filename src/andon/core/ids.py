"""Opaque, prefixed, sortable ids such as ``tm_01JD3Z...``.

The body is a ULID: 48 bits of milliseconds then 80 random bits, in Crockford base32, so ids
sort by creation time and never collide in practice.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

PREFIXES = {
    "principal": "pr",
    "connection": "cn",
    "team": "tm",
    "binding": "rb",
    "token": "tok",
    "asset": "as",
    "rotation": "rot",
    "audit": "au",
    "event": "ev",
    "run": "run",
    "model": "mdl",
    "model_version": "mv",
    "edge": "le",
    "contract": "ct",
    "contract_version": "cv",
    "dataset": "ds",
    "check_run": "cr",
    "evaluation": "evl",
    "policy": "pol",
    "gate_decision": "gd",
    "approval_request": "areq",
    "approval": "apr",
    "promotion": "prm",
    "classification": "fc",
    "proposal": "prop",
    "schema_change": "sc",
    "data_root": "dr",
    "endpoint": "ep",
    "budget_window": "bw",
    "reservation": "rsv",
    "deployment": "dp",
    "violation": "gv",
    "telemetry_batch": "tb",
    "telemetry_move": "tm",
}


def new_id(kind: str) -> str:
    """A new id for an object of ``kind`` (a key of ``PREFIXES``)."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{PREFIXES[kind]}_{''.join(reversed(chars))}"
