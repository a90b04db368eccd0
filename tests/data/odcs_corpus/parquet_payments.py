"""Data for parquet_payments.odcs.yaml: a folder of Parquet files, 20 payments, 6 invoice lines.

Defects: 1 NULL currency (5 %), 2 'GBP' (10 %), payment 19 points at invoice line (3, 9) that
does not exist; the oldest payment is 4 years old (past a 3-year retention).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from tests.data.odcs_corpus._util import ts


def generate(folder: Path, now: datetime) -> None:
    """Write ``payments.parquet`` and ``invoice_lines.parquet`` into ``folder``."""
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT i AS payment_id, i % 3 + 1 AS invoice_id, "
        "CASE WHEN i = 19 THEN 9 ELSE i % 2 + 1 END AS line, 10.0 * i AS amount, "
        "CASE WHEN i = 0 THEN NULL WHEN i IN (1, 2) THEN 'GBP' ELSE 'EUR' END AS currency, "
        f"CASE WHEN i = 0 THEN {ts(now)} - INTERVAL 4 YEAR ELSE {ts(now)} - INTERVAL (i) HOUR "
        f"END AS paid_at FROM range(20) t(i)) TO '{folder / 'payments.parquet'}'"
    )
    con.execute(
        "COPY (SELECT i // 2 + 1 AS invoice_id, i % 2 + 1 AS line FROM range(6) t(i)) "
        f"TO '{folder / 'invoice_lines.parquet'}'"
    )
