"""Credentials in a contract: refused wherever they appear, and masked in the refusal.

A contract never carries a credential nor chooses where the server sends one: a database
server names a connection a platform-admin declared (:mod:`andon.data.connections`). This
module finds what must not be there: credential keys on a server (``password``, ``userEnv``,
``passwordEnv`` ...) and any string in the document holding a URI with ``user:password@``,
which is reported with the password shown as ``***``.
"""

from __future__ import annotations

import re
from typing import Any

SECRET_KEYS = ("password", "token", "secret", "userEnv", "passwordEnv", "user", "username")
"""Server keys that would carry a credential or name one: a connection holds those."""

_URI_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)(?P<pw>[^@\s/]*)@")


def mask(text: str) -> str:
    """``text`` with every URI password replaced by ``***``."""
    return _URI_PASSWORD.sub(lambda m: f"{m.group('head')}***@", text)


def has_uri_password(text: str) -> bool:
    """Whether ``text`` holds a URI with ``user:password@``."""
    return _URI_PASSWORD.search(text) is not None


def uri_passwords(value: Any, path: str = "") -> list[str]:
    """``path: reason`` for each string under ``value`` that holds a URI with a password."""
    found: list[str] = []
    if isinstance(value, str):
        if has_uri_password(value):
            found.append(
                f"{path or 'contract'}: holds a URI with a password ({mask(value)}): "
                "credentials do not belong in a contract; name a connection instead"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            found += uri_passwords(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += uri_passwords(item, f"{path}[{i}]")
    return found


def server_connection(raw: dict[str, Any]) -> Any:
    """The ``connection`` a server names in its ``customProperties`` (``None`` when none)."""
    for prop in raw.get("customProperties") or []:
        if isinstance(prop, dict) and prop.get("property") == "connection":
            return prop.get("value")
    return None
