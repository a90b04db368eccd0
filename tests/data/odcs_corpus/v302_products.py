"""Data for v302_products.odcs.yaml: a DuckDB file (schema main), 8 products.

Defects: sku P3 twice, 1 colour outside the list; the newest release date is yesterday.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb


def generate(folder: Path, now: datetime) -> None:
    """Write ``catalog.duckdb`` into ``folder``."""
    day = (now - timedelta(days=1)).date().isoformat()
    con = duckdb.connect(str(folder / "catalog.duckdb"))
    con.execute(
        "CREATE TABLE products AS SELECT 'P' || CASE WHEN i = 7 THEN 3 ELSE i END AS sku, "
        "CASE WHEN i = 4 THEN 'mauve' ELSE ['red', 'green', 'blue'][i % 3 + 1] END AS colour, "
        f"DATE '{day}' - CAST(i AS INTEGER) AS released_on FROM range(8) t(i)"
    )
    con.close()
