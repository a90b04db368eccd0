"""Data for csv_shipments.odcs.yaml: one CSV file, 12 shipments.

Defects: weight 2500 (grams written into a kg column), weight 0 and -1; the newest shipment is
one day old (past a 6 h latency) but was shipped at 09:00-08:00 today.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from tests.data.odcs_corpus._util import ts


def generate(folder: Path, now: datetime) -> None:
    """Write ``shipments.csv`` into ``folder``."""
    today_nine = (now - timedelta(hours=8)).replace(hour=9, minute=0, second=0) + timedelta(hours=8)
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT i AS shipment_id, "
        "CASE i WHEN 0 THEN 2500.0 WHEN 1 THEN 0.0 WHEN 2 THEN -1.0 ELSE 1.5 * i END AS weight_kg, "
        f"CASE WHEN i = 3 THEN {ts(today_nine)} ELSE {ts(now)} - INTERVAL (24 + i) HOUR END "
        f"AS shipped_at FROM range(12) t(i)) TO '{folder / 'shipments.csv'}' (HEADER)"
    )
