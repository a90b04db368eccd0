"""What an audit entry's hash covers: the canonical JSON of its fields, and the two schemes.

The record hashed is ``{"action", "actor", "change_digest", "id", "object_id", "prev_hash",
"reason", "seq", "ts"}`` as canonical JSON (sorted keys, no whitespace, UTF-8), ``ts`` as ISO
8601 in UTC. Entries from the head's ``keyed_from`` on are hashed with HMAC-SHA256 under the
audit key (and carry the key's id); entries before it, written by andon before the key existed,
keep their plain SHA-256 (the *legacy* scheme), which anyone can recompute.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from json.encoder import encode_basestring

from andon.audit.keys import AuditKey
from andon.core.clock import as_utc

GENESIS = "0" * 64


def text(value: str) -> str:
    """A JSON string literal, exactly as ``json.dumps(value, ensure_ascii=False)`` writes it."""
    return encode_basestring(value)


def sha256_text(value: str) -> str:
    """Hex SHA-256 of ``value`` as UTF-8."""
    return hashlib.sha256(value.encode()).hexdigest()


def entry_parts(
    entry_id: str,
    ts: str,
    actor: str,
    action: str,
    object_id: str,
    reason: str,
    change_digest: str,
) -> tuple[str, str, str]:
    """An entry's canonical JSON around the two values the chain head supplies.

    ``before + json(prev_hash) + middle + str(seq) + after`` is ``canonical_json`` of the
    entry's hashed fields: keys in sorted order, ``,``/``:`` separators and ``json.dumps``'s
    own string escaping (a property test checks it byte for byte).
    """
    before = (
        f'{{"action":{text(action)},"actor":{text(actor)},'
        f'"change_digest":{text(change_digest)},"id":{text(entry_id)},'
        f'"object_id":{text(object_id)},"prev_hash":'
    )
    return before, f',"reason":{text(reason)},"seq":', f',"ts":{text(ts)}}}'


def entry_json(
    seq: int,
    entry_id: str,
    ts: str,
    actor: str,
    action: str,
    object_id: str,
    reason: str,
    change_digest: str,
    prev_hash: str,
) -> str:
    """``canonical_json`` of an entry's hashed fields (``ts`` already ISO 8601 in UTC)."""
    if type(seq) is not int:
        raise TypeError(f"seq must be an int, not {type(seq).__name__}")
    before, middle, after = entry_parts(
        entry_id, ts, actor, action, object_id, reason, change_digest
    )
    return f"{before}{text(prev_hash)}{middle}{seq}{after}"


def entry_hash(
    *,
    seq: int,
    id: str,
    ts: datetime,
    actor: str,
    action: str,
    object_id: str,
    reason: str,
    change_digest: str,
    prev_hash: str,
    key: AuditKey | None = None,
) -> str:
    """The hash of one entry: HMAC-SHA256 under ``key``, or plain SHA-256 (legacy) without."""
    record = entry_json(
        seq,
        id,
        as_utc(ts).isoformat(),
        actor,
        action,
        object_id,
        reason,
        change_digest,
        prev_hash,
    )
    return key.mac(record) if key is not None else sha256_text(record)


__all__ = ["GENESIS", "entry_hash", "entry_json", "entry_parts", "sha256_text", "text"]
