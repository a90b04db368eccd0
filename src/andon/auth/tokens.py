"""API token format: ``andon_<43 url-safe chars>``, stored only as its SHA-256.

Tokens carry 256 bits of randomness, so a fast hash is the right choice (a slow password
hash protects low-entropy secrets; it would only slow every request here).
"""

from __future__ import annotations

import re
import secrets

from andon.core.canonical import sha256_hex

PREFIX = "andon_"
_SHAPE = re.compile(r"^andon_[A-Za-z0-9_-]{43}$")


def generate() -> str:
    """A new secret token, shown to the user exactly once."""
    return PREFIX + secrets.token_urlsafe(32)


def is_well_formed(token: str) -> bool:
    """Whether ``token`` has the shape of an andon token."""
    return bool(_SHAPE.match(token))


def hash_token(token: str) -> str:
    """What the store keeps instead of the token."""
    return sha256_hex(token)
