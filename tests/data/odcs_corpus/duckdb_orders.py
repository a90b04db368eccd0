"""Data for duckdb_orders.odcs.yaml: a DuckDB file, schema ``sales``, 10 customers, 20 orders.

Defects: 2 NULL emails, 1 tier outside the list, order 18 twice, status '', 'N/A', NULL
(3 of 20 = 15 %), 2 orders of customer 99 (no such customer).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from tests.data.odcs_corpus._util import ts


def generate(folder: Path, now: datetime) -> None:
    """Write ``shop.duckdb`` into ``folder``."""
    con = duckdb.connect(str(folder / "shop.duckdb"))
    con.execute("CREATE SCHEMA sales")
    con.execute(
        "CREATE TABLE sales.customers AS SELECT i + 1 AS customer_id, "
        "CASE WHEN i IN (2, 5) THEN NULL ELSE 'c' || i || '@example.com' END AS email, "
        "CASE WHEN i = 7 THEN 'platinum' ELSE ['gold', 'silver', 'bronze'][i % 3 + 1] END AS tier "
        "FROM range(10) t(i)"
    )
    con.execute(
        "CREATE TABLE sales.orders AS SELECT CASE WHEN i = 19 THEN 18 ELSE i END AS order_id, "
        "CASE WHEN i IN (3, 4) THEN 99 ELSE i % 10 + 1 END AS customer_id, "
        "CASE WHEN i = 5 THEN 'N/A' WHEN i = 6 THEN '' WHEN i = 7 THEN NULL ELSE 'shipped' END "
        f"AS status, {ts(now)} - INTERVAL (i) HOUR AS placed_at FROM range(20) t(i)"
    )
    con.close()
