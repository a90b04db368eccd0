"""Anchors: the chain head, signed with the audit key, kept where the database cannot reach.

An anchor is one JSON line::

    {"at":"2026-12-02T18:40:00+00:00","hash":"…","key_id":"…","keyed_from":1,
     "kind":"andon.audit.anchor","seq":42,"sig":"…","v":1}

``sig`` is HMAC-SHA256 under the audit key over the canonical JSON of every other field. The
database holds the chain; the anchors, appended to a file, a log pipeline or an HTTP
collector, remember how far it reached and what its entries hashed to, so a verify against
them catches what a self-consistent database cannot show: a tail cut with the head moved to
match, everything deleted and the head reset, a moved switch to keyed hashes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from andon.audit.keys import AuditKey
from andon.audit.records import GENESIS
from andon.audit.verification import Verification, failed
from andon.core.canonical import canonical_json
from andon.core.errors import Invalid, Unavailable

KIND = "andon.audit.anchor"
VERSION = 1
_FIELDS = ("at", "hash", "key_id", "keyed_from", "kind", "seq", "sig", "v")
_TAIL = 8192


@dataclass(frozen=True)
class Anchor:
    """One signed copy of the chain head."""

    seq: int
    hash: str
    keyed_from: int
    at: str
    key_id: str
    sig: str

    def signed_text(self) -> str:
        """What ``sig`` is the HMAC of."""
        return signed_text(self.seq, self.hash, self.keyed_from, self.at, self.key_id)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the anchor line's fields)."""
        return {
            "at": self.at,
            "hash": self.hash,
            "key_id": self.key_id,
            "keyed_from": self.keyed_from,
            "kind": KIND,
            "seq": self.seq,
            "sig": self.sig,
            "v": VERSION,
        }

    def line(self) -> str:
        """The anchor as one JSON line (no newline)."""
        return canonical_json(self.as_dict())


def signed_text(seq: int, hash: str, keyed_from: int, at: str, key_id: str) -> str:
    """The canonical JSON an anchor's signature covers."""
    return canonical_json(
        {
            "at": at,
            "hash": hash,
            "key_id": key_id,
            "keyed_from": keyed_from,
            "kind": KIND,
            "seq": seq,
            "v": VERSION,
        }
    )


def sign(key: AuditKey, *, seq: int, hash: str, keyed_from: int, at: str) -> Anchor:
    """An anchor of the head (``seq``, ``hash``) signed with ``key``."""
    sig = key.mac(signed_text(seq, hash, keyed_from, at, key.id))
    return Anchor(seq, hash, keyed_from, at, key.id, sig)


def parse(line: str) -> Anchor:
    """The anchor a JSON line holds; ValueError saying what is wrong if it holds none."""
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND or doc.get("v") != VERSION:
        raise ValueError(f"not a version {VERSION} {KIND}")
    if set(doc) != set(_FIELDS):
        raise ValueError(f"fields must be exactly {', '.join(_FIELDS)}")
    ints, texts = ("seq", "keyed_from"), ("hash", "at", "key_id", "sig")
    if any(type(doc[f]) is not int for f in ints) or any(type(doc[f]) is not str for f in texts):
        raise ValueError("seq and keyed_from must be integers, the rest text")
    return Anchor(doc["seq"], doc["hash"], doc["keyed_from"], doc["at"], doc["key_id"], doc["sig"])


def append_line(path: Path, anchor: Anchor) -> None:
    """Append the anchor to the JSON-lines file ``path`` (made if absent), synced to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(anchor.line() + "\n")
        out.flush()
        os.fsync(out.fileno())


def post(url: str, anchor: Anchor, timeout: float = 10.0) -> None:
    """POST the anchor as ``application/json`` to ``url``; a non-2xx answer is an error."""
    if not url.startswith(("http://", "https://")):
        raise Invalid("must be an http:// or https:// URL", field="url")
    # Imported here: every service imports this module's package door, few commands post.
    import urllib.error
    import urllib.request

    # Only http(s) gets here (checked above), so no file: or custom scheme is ever opened.
    request = urllib.request.Request(  # noqa: S310
        url,
        data=anchor.line().encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unavailable(f"cannot POST the anchor to {url}: {reason}", field="url") from None
    if not 200 <= status < 300:
        raise Unavailable(f"{url} answered {status} to the anchor", field="url")


def read_lines(path: Path) -> list[tuple[int, str]]:
    """The non-blank lines of an anchor file with their line numbers."""
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Invalid(f"{path} does not exist", field="anchor_file") from None
    except (OSError, UnicodeError) as exc:
        raise Invalid(f"cannot read {path}: {exc}", field="anchor_file") from None
    return [(n, line) for n, line in enumerate(content.splitlines(), start=1) if line.strip()]


def last_in_file(path: Path) -> Anchor | None:
    """The last readable anchor of ``path`` (None if there is none), reading only its tail."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - _TAIL))
            tail = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    for line in reversed(tail.splitlines()):
        try:
            return parse(line)
        except ValueError:
            continue
    return None


def _hashes_at(session: Session, seqs: Iterable[int]) -> dict[int, str]:
    wanted, found = sorted(set(seqs)), {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        names = ", ".join(f":s{i}" for i in range(len(chunk)))
        rows = session.execute(
            text(f"SELECT seq, hash FROM audit_log WHERE seq IN ({names})"),
            {f"s{i}": s for i, s in enumerate(chunk)},
        )
        found.update({int(seq): str(h) for seq, h in rows})
    return found


def _parsed(key: AuditKey, lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, Anchor]]:
    """Each anchor with its line number; raises ValueError naming the first bad line."""
    for number, line in lines:
        try:
            anchor = parse(line)
        except ValueError as exc:
            raise _BadAnchor(number, f"anchor line {number} is not an anchor: {exc}") from None
        if anchor.key_id != key.id:
            raise _BadAnchor(
                number,
                f"anchor line {number} was signed with another audit key (key id "
                f"{anchor.key_id}; the configured key's id is {key.id})",
            )
        if not key.matches(anchor.signed_text(), anchor.sig):
            raise _BadAnchor(
                number,
                f"anchor line {number}: the signature does not match its fields "
                "(a forged or edited anchor)",
            )
        yield number, anchor


class _BadAnchor(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line, self.problem = line, problem


def check(
    session: Session,
    key: AuditKey,
    result: Verification,
    lines: Iterable[tuple[int, str]],
    keyed_from: int | None,
) -> Verification:
    """``result`` (a walk of the chain) checked against every anchor of ``lines``.

    A broken chain is reported as it is. Otherwise the first forged anchor, then the lowest
    entry any good anchor contradicts: one past the log's end when an anchor reaches further,
    the anchored entry when its hash differs, the switch point when it moved.
    """
    try:
        anchors = list(_parsed(key, lines))
    except _BadAnchor as bad:
        if not result.ok:
            return result
        return failed(result, None, bad.problem, bad_anchor=bad.line)
    if not result.ok:
        return _with_count(result, len(anchors))
    end = result.checked
    stored = _hashes_at(session, (a.seq for _, a in anchors if 1 <= a.seq <= end))
    found: list[tuple[int, int, str]] = []
    for number, a in anchors:
        if a.keyed_from != keyed_from:
            found.append(
                (
                    min(a.keyed_from, keyed_from or 1),
                    number,
                    f"the switch to keyed hashes was at entry {a.keyed_from} when anchored at "
                    f"{a.at}, but the database now puts it at entry {keyed_from} (entries "
                    "passed off as legacy, unkeyed ones?)",
                )
            )
        if a.seq > end:
            found.append(
                (
                    end + 1,
                    number,
                    f"entry {end + 1} is missing: the anchor of {a.at} names entry {a.seq} but "
                    f"the log ends at entry {end} (entries were deleted and the head moved to "
                    "match)",
                )
            )
        elif stored.get(a.seq, GENESIS) != a.hash:
            found.append(
                (
                    max(a.seq, 1),
                    number,
                    f"entry {a.seq}'s hash is not the one anchored at {a.at}: the log was "
                    f"rewritten at or before entry {a.seq}",
                )
            )
    if found:
        seq, number, problem = min(found)
        return failed(_with_count(result, len(anchors)), seq, f"{problem} [anchor line {number}]")
    return _with_count(result, len(anchors))


def _with_count(result: Verification, n: int) -> Verification:
    return Verification(
        result.ok,
        result.checked,
        result.first_bad_seq,
        result.first_bad_id,
        result.problem,
        result.legacy,
        n,
        result.bad_anchor,
    )


__all__ = [
    "KIND",
    "Anchor",
    "append_line",
    "check",
    "last_in_file",
    "parse",
    "post",
    "read_lines",
    "sign",
    "signed_text",
]
