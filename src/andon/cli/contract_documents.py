"""`andon contract upgrade` and `andon contract show`: a contract's document in the standard's shape."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from andon.cli._shared import context, print_json, settings
from andon.cli.data import contract_app


class DocumentFormat(StrEnum):
    """How a contract's document is printed."""

    yaml = "yaml"
    json = "json"


@contract_app.command("upgrade")
def upgrade(
    file: Path,
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the result here."),
    in_place: bool = typer.Option(
        False, "--in-place", help="Rewrite FILE (its leading comments stay)."
    ),
) -> None:
    """Rewrite FILE from andon's pre-standard dialect into the ODCS standard's shapes.

    Prints the upgraded YAML (or writes it), and one line per change on stderr. A postgres
    server's missing host, port and database come from andon's connections when this home has
    them; otherwise a line says to fill them in.
    """
    import yaml  # type: ignore[import-untyped]

    from andon.core.errors import Invalid
    from andon.core.yaml_limits import load_bounded
    from andon.data.contracts import read_contract_file
    from andon.data.dialect import upgrade as upgrade_document

    if output is not None and in_place:
        raise Invalid("give --output or --in-place, not both", field="--in-place")
    text = read_contract_file(file)
    try:
        doc = load_bounded(text, source=str(file))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise Invalid(f"{file} is not valid YAML{where}: {problem}") from None
    if not isinstance(doc, dict):
        raise Invalid(f"{file} must be a YAML mapping (an ODCS v3 DataContract)")
    upgraded, changes = upgrade_document(doc, connection_address=_connection_address())
    if not changes:
        typer.echo(f"nothing to upgrade: {file} already reads as the standard", err=True)
        return
    header = "".join(_leading_comments(text))
    body = yaml.safe_dump(upgraded, sort_keys=False, width=100, allow_unicode=True)
    target = file if in_place else output
    if target is None:
        sys.stdout.write(header + body)
    else:
        target.write_text(header + body, encoding="utf-8")
    for line in changes:
        typer.echo(line, err=True)
    lines = text.splitlines()
    if any(line.lstrip().startswith("#") for line in lines[len(header.splitlines()) :]):
        typer.echo("note: comments below the leading ones are not kept", err=True)
    written = f"; written to {target}" if target is not None else ""
    typer.echo(
        f"{len(changes)} {'change' if len(changes) == 1 else 'changes'}; the contract now reads "
        f"as ODCS {upgraded.get('apiVersion')}{written}",
        err=True,
    )


def _leading_comments(text: str) -> list[str]:
    """The comment (and blank) lines a YAML file starts with."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        lines.append(line if line.endswith("\n") else line + "\n")
    return lines


def _connection_address() -> Any:
    """Looks a connection's (host, port, database) up in this home, once and only when asked.

    Only an existing home is read (a missing one is not created), as the local principal; when
    that fails (no principal, no permission, database unreachable) nothing is resolved.
    """
    found: dict[str, tuple[str, int, str]] | None = None

    def address(name: str) -> tuple[str, int, str] | None:
        nonlocal found
        if found is None:
            found = _connections()
        return found.get(name)

    return address


def _connections() -> dict[str, tuple[str, int, str]]:
    from andon.core.errors import AndonError
    from andon.data import connections

    try:
        cfg = settings()
        if not cfg.database_url and not (cfg.home / "andon.db").exists():
            return {}
        listed = connections.list_connections(context())
    except AndonError:
        return {}
    return {c.name: (c.host, c.port, c.database) for c in listed if c.type == "postgresql"}


@contract_app.command("show")
def show(
    contract: str = typer.Argument(..., help="A contract id (its active version) or ID@VERSION."),
    fmt: DocumentFormat = typer.Option(DocumentFormat.yaml, "--format", "-f"),
) -> None:
    """Print an applied contract's document as ODCS YAML (a version applied in andon's old
    dialect is shown upgraded, each change on stderr); --format json adds its status."""
    import yaml

    from andon.data import service as data

    shown = data.show_contract(context(), contract)
    for line in shown.upgraded:
        typer.echo(f"upgraded from andon's pre-standard dialect: {line}", err=True)
    if fmt is DocumentFormat.json:
        print_json(shown.as_dict())
    else:
        sys.stdout.write(
            yaml.safe_dump(shown.document, sort_keys=False, width=100, allow_unicode=True)
        )
