"""Tables of named connections: where the server may send a database's credentials.

A platform-admin declares each connection (``andon connection add``); a contract's server
names one, and the engine takes host, port, database, user and the password's environment
variable from here, never from the contract. Only :mod:`andon.data.connections` writes it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class Connection(Base):
    """One named connection. ``password_env`` is the NAME of a variable, never its value."""

    __tablename__ = "connections"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    database: Mapped[str] = mapped_column(String(255))
    user: Mapped[str] = mapped_column(String(255))
    password_env: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
