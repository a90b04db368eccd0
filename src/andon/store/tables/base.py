"""The declarative base every table of the metadata store shares, with its naming
convention and column types. One Alembic history covers all tables.

Only services and queries touch these; the doors (CLI, API, console) never import them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    MetaData,
)
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Timestamp = DateTime(timezone=True)
# SQLite's INTEGER PRIMARY KEY is the rowid alias only when spelled INTEGER, not BIGINT.
Sequence = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING)
