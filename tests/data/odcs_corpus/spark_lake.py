"""Data for spark_lake.odcs.yaml: 10 sensor readings as Parquet in ``readings/``.

Defects: 2 NULL readings, sensor s9 unknown.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb


def generate(folder: Path, now: datetime) -> None:
    """Write ``readings/readings.parquet`` into ``folder``."""
    (folder / "readings").mkdir()
    duckdb.connect().execute(
        "COPY (SELECT i AS reading_id, CASE WHEN i = 9 THEN 's9' ELSE 's' || (i % 3) END AS sensor, "
        "CASE WHEN i IN (0, 1) THEN NULL ELSE i * 0.5 END AS value FROM range(10) t(i)) "
        f"TO '{folder / 'readings' / 'readings.parquet'}'"
    )
