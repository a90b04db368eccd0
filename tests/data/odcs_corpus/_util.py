"""Shared by the corpus generators: a DuckDB connection and a timestamp literal."""

from __future__ import annotations

from datetime import datetime


def ts(now: datetime) -> str:
    """``now`` as a DuckDB TIMESTAMP literal (UTC, naive)."""
    return f"TIMESTAMP '{now.replace(tzinfo=None).isoformat(sep=' ')}'"
