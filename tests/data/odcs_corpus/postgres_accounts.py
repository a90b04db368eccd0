"""Data for postgres_accounts.odcs.yaml: 12 accounts as ``accounts.parquet``, which the test
loads into a real PostgreSQL database (schema ``sales``).

Defects: 3 accounts without a country (25 %), 1 account code not of the form AC-<digits>.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from tests.data.odcs_corpus._util import ts


def generate(folder: Path, now: datetime) -> None:
    """Write ``accounts.parquet`` into ``folder``."""
    duckdb.connect().execute(
        "COPY (SELECT i AS account_id, CASE WHEN i = 5 THEN 'ac_5' ELSE 'AC-' || i END AS code, "
        "CASE WHEN i IN (1, 2, 3) THEN NULL ELSE 'FR' END AS country, "
        f"{ts(now)} - INTERVAL (i) MINUTE AS opened_at "
        f"FROM range(12) t(i)) TO '{folder / 'accounts.parquet'}'"
    )
