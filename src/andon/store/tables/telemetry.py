"""Tables of the telemetry domain: each team's sampling document, masking allow-list and
daily budget, and the bytes each team sent per day.

The telemetry rows themselves live in the hot DuckDB files and cold Parquet files, not here.
Only :mod:`andon.telemetry` services touch these.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class TelemetrySettings(Base):
    """A team's telemetry settings: its tail-sampling document, the attribute keys whose
    values are stored unmasked, its daily budget and its tag schema (each change a new
    ``version``, audited)."""

    __tablename__ = "telemetry_settings"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    sampling: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    unmasked: Mapped[list[str]] = mapped_column(JSON)
    budget: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    tags: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(Timestamp)


class TelemetryUsage(Base):
    """Bytes a team's telemetry took in the spool on one UTC day, and whether the day's
    warning and cap were already announced (each once)."""

    __tablename__ = "telemetry_usage"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    warned: Mapped[bool] = mapped_column(Boolean)
    exceeded: Mapped[bool] = mapped_column(Boolean)
