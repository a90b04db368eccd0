"""What every command shares: settings, the database, the acting context, and output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from andon.core.config import Settings
    from andon.core.context import Context
    from andon.store.db import Database


class Format(StrEnum):
    """Output formats of reporting commands."""

    table = "table"
    json = "json"


FormatOption = typer.Option(Format.table, "--format", "-f", help="Output as a table or JSON.")
ReasonOption = typer.Option("", "--reason", help="Why: recorded in the audit log.")

COLORS = {"green": "green", "amber": "yellow", "red": "red"}


def settings() -> Settings:
    """Settings from the environment (one clear line on a bad value)."""
    from andon.core.config import load_settings

    return load_settings()


def database(cfg: Settings, *, check_schema: bool = True) -> Database:
    """The metadata database, refusing to run on a missing or foreign schema."""
    from andon.store import migrate
    from andon.store.db import Database

    db = Database.from_settings(cfg)
    if check_schema:
        migrate.require_current(db)
    return db


def context() -> Context:
    """The context of the local principal (``ANDON_PRINCIPAL``, default ``admin``)."""
    from andon.auth import service as auth

    cfg = settings()
    return auth.context_for(database(cfg), cfg, cfg.principal)


def print_json(value: Any) -> None:
    """JSON to stdout, stable key order."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], markup: bool = True
) -> None:
    """A Rich table to stdout; with ``markup=False`` cells are shown as they are (user data:
    a ``[email]`` in a value must not read as a Rich style)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(Text(column) if not markup else column)
    for row in rows:
        cells = ("" if v is None else str(v) for v in row)
        table.add_row(*(cells if markup else (Text(c) for c in cells)))
    Console().print(table)


def report(
    fmt: Format,
    items: Sequence[Any],
    title: str,
    columns: Sequence[str],
    row: Any,
) -> None:
    """Print records (each with ``as_dict``) as JSON or as a table built by ``row(item)``."""
    if fmt is Format.json:
        print_json([item.as_dict() for item in items])
    else:
        print_table(title, columns, [row(item) for item in items])


def say(message: str) -> None:
    """One line for a person (Rich markup allowed) on stdout."""
    from rich.console import Console

    Console().print(message, highlight=False)


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 instant; naive values are UTC."""
    if value is None:
        return None
    from andon.core.clock import as_utc
    from andon.core.errors import Invalid

    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise Invalid(
            f"'{value}' is not an ISO 8601 time such as 2026-11-23T09:00Z", field="--at"
        ) from None


@contextmanager
def fields_as(**options: str) -> Iterator[None]:
    """Show a service error's field under this command's option when their names differ.

    Services name their own parameters (``base_url``); :func:`andon.cli.main.main` shows a
    field that matches an option's parameter name as the option, and this covers the rest.
    """
    from andon.core.errors import AndonError

    try:
        yield
    except AndonError as exc:
        if exc.field in options:
            exc.field = options[exc.field]
        raise
