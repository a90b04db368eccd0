"""Cursor pagination: opaque cursors that name their listing, so garbage is refused.

A cursor is URL-safe base64 of the JSON ``[listing, key]``: the sort key of the last item
served. Every listing sorts by a unique key (a name, an id or a sequence number), so following
``next_cursor`` until it is ``null`` visits each item exactly once.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from andon.core.errors import Invalid

_MAX_SEQ = 2**63 - 1


class _Record(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=_Record)


def encode_cursor(listing: str, key: str | int) -> str:
    """The opaque cursor after ``key`` in ``listing``."""
    raw = json.dumps([listing, key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad() -> Invalid:
    return Invalid("is not a cursor this API issued for this listing", field="cursor")


def _decode(listing: str, cursor: str) -> object:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise _bad() from None
    if name != listing:
        raise _bad()
    return key


def text_cursor(listing: str, cursor: str | None) -> str | None:
    """The text key inside ``cursor`` (``None`` for the first page), or :class:`Invalid`."""
    if cursor is None:
        return None
    key = _decode(listing, cursor)
    if not isinstance(key, str):
        raise _bad()
    return key


def seq_cursor(listing: str, cursor: str | None) -> int | None:
    """The sequence number inside ``cursor`` (``None`` for the first page), or :class:`Invalid`."""
    if cursor is None:
        return None
    key = _decode(listing, cursor)
    if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= _MAX_SEQ:
        raise _bad()
    return key


def page(
    listing: str,
    items: Sequence[R],
    key: Callable[[R], str],
    cursor: str | None,
    limit: int,
    *,
    descending: bool = False,
) -> dict[str, Any]:
    """One page of ``items`` after ``cursor``, ordered by the unique ``key`` (``descending``:
    largest first, as for newest-first listings keyed by an ISO instant and an id)."""
    after = text_cursor(listing, cursor)
    rest = sorted(
        (i for i in items if after is None or (key(i) < after if descending else key(i) > after)),
        key=key,
        reverse=descending,
    )
    chunk = rest[:limit]
    more = len(rest) > limit
    return {
        "items": [i.as_dict() for i in chunk],
        "next_cursor": encode_cursor(listing, key(chunk[-1])) if more else None,
    }


def seq_page(
    listing: str, items: Sequence[R], seq: Callable[[R], int], limit: int
) -> dict[str, Any]:
    """One page from ``limit + 1`` items fetched in order by sequence number."""
    chunk = list(items[:limit])
    return {
        "items": [i.as_dict() for i in chunk],
        "next_cursor": encode_cursor(listing, seq(chunk[-1])) if len(items) > limit else None,
    }


WINDOW = 10_000
"""How many of the newest items the listings over a service with a ``limit`` can walk."""


def fetch_size(cursor: str | None, limit: int) -> int:
    """How many items to ask a service with a ``limit`` for: one page and one more on the first
    page (the service sorts as the cursor does), else the whole window the cursor may lie in."""
    return limit + 1 if cursor is None else WINDOW
