"""Data for json_events.odcs.yaml: newline-delimited JSON, 4 users and 15 events.

Defects: 2 events of user 7 (no such user), 1 event without a kind.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from tests.data.odcs_corpus._util import ts


def generate(folder: Path, now: datetime) -> None:
    """Write ``users.json`` and ``events.json`` into ``folder``."""
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT i + 1 AS user_pk, 'user' || i AS handle FROM range(4) t(i)) "
        f"TO '{folder / 'users.json'}'"
    )
    con.execute(
        "COPY (SELECT i AS event_id, CASE WHEN i IN (0, 1) THEN 7 ELSE i % 4 + 1 END AS user_id, "
        "CASE WHEN i = 2 THEN NULL ELSE 'click' END AS kind, "
        f"strftime({ts(now)} - INTERVAL (i) DAY, '%Y-%m-%dT%H:%M:%S') AS happened_at "
        f"FROM range(15) t(i)) TO '{folder / 'events.json'}'"
    )
