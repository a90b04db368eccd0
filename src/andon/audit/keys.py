"""The audit key: the HMAC-SHA256 secret the chain and its anchors are keyed with.

It lives outside the database, so whoever can rewrite the tables cannot recompute the chain:
``ANDON_AUDIT_KEY`` (wins) or the key file, ``ANDON_HOME/audit.key`` by default, mode 0600,
one line of text. ``andon init`` (and, failing that, the first audited write) creates the file
when neither exists; verify never does. The key is never logged or printed: only its *id*, the
first 16 hex digits of an HMAC of a fixed label, which names it without revealing it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

from andon.core.config import Settings
from andon.core.errors import Invalid

MIN_LENGTH = 32
_LABEL = b"andon audit key id v1"
_LOG = logging.getLogger(__name__)


# HMAC's pads (RFC 2104) as translation tables, as the stdlib's hmac module builds them.
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_BLOCK = hashlib.sha256().block_size


class AuditKey:
    """An HMAC-SHA256 key; ``id`` names it, nothing shows the secret."""

    __slots__ = ("_inner", "_outer", "id")

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_LENGTH:
            raise ValueError(f"an audit key needs at least {MIN_LENGTH} bytes")
        # The padded key's two hash states, computed once: each HMAC then costs two state
        # copies instead of the key set-up ``hmac.digest`` repeats per call (3 us, not 6, here).
        block = secret if len(secret) <= _BLOCK else hashlib.sha256(secret).digest()
        block = block.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))
        self.id = self.mac_bytes(_LABEL)[:16]

    def mac_bytes(self, data: bytes) -> str:
        """HMAC-SHA256 of ``data``, as 64 hex digits."""
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def mac(self, text: str) -> str:
        """HMAC-SHA256 of ``text`` (UTF-8), as 64 hex digits."""
        return self.mac_bytes(text.encode())

    def matches(self, text: str, mac: str) -> bool:
        """Whether ``mac`` is this key's HMAC of ``text`` (compared in constant time)."""
        return hmac.compare_digest(self.mac(text), mac)

    def __repr__(self) -> str:
        return f"AuditKey(id={self.id})"


_CACHE: dict[tuple[object, ...], AuditKey] = {}


def _from_text(text: str, where: str) -> AuditKey:
    value = text.strip()
    if len(value.encode()) < MIN_LENGTH:
        raise Invalid(
            f"the audit key in {where} is shorter than {MIN_LENGTH} characters",
            field="audit_key",
            hint="generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`",
        )
    return AuditKey(value.encode())


def create_key_file(path: Path) -> bool:
    """Write a fresh random key to ``path`` (mode 0600) unless a file is there; True if made.

    The key is written to a private temporary file first and then linked into place, so a
    concurrent reader sees either no file or the whole key, and of two racing creators one wins.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def load_key(settings: Settings, *, create: bool = False) -> AuditKey:
    """The configured audit key: ``ANDON_AUDIT_KEY``, else the key file.

    ``create`` makes the key file when neither is set (appends do; verify and anchor do not:
    for them a missing key is an :class:`Invalid` error with a hint).
    """
    if settings.audit_key is not None:
        text = settings.audit_key.get_secret_value()
        cached = _CACHE.get(("env", text))
        if cached is None:
            cached = _CACHE[("env", text)] = _from_text(text, "ANDON_AUDIT_KEY")
        return cached
    path = settings.resolved_audit_key_file
    try:
        info = path.stat()
    except FileNotFoundError:
        if not create:
            raise Invalid(
                f"no audit key: ANDON_AUDIT_KEY is not set and {path} does not exist",
                field="audit_key",
                hint="set ANDON_AUDIT_KEY or ANDON_AUDIT_KEY_FILE to the key this database's "
                "audit chain was written with (`andon init` creates a key file for a new home)",
            ) from None
        if create_key_file(path):
            _LOG.warning("created a new audit key file at %s: keep it, and back it up", path)
        info = path.stat()
    marker = ("file", str(path), info.st_ino, info.st_size, info.st_mtime_ns, info.st_mode)
    cached = _CACHE.get(marker)
    if cached is not None:
        return cached
    if os.name == "posix" and stat.S_IMODE(info.st_mode) & 0o077:
        raise Invalid(
            f"the audit key file {path} is readable by others "
            f"(mode {stat.S_IMODE(info.st_mode):o})",
            field="audit_key_file",
            hint=f"chmod 600 {path}",
        )
    try:
        text = path.read_text()
    except (OSError, UnicodeError) as exc:
        raise Invalid(
            f"cannot read the audit key file {path}: {exc}", field="audit_key_file"
        ) from None
    key = _CACHE[marker] = _from_text(text, str(path))
    return key


__all__ = ["MIN_LENGTH", "AuditKey", "create_key_file", "load_key"]
