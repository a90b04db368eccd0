"""Reach: whether the files a contract names lie inside its team's data roots.

A contract is text most people can write, so where its ``path`` points is not the contract's
choice: every file a file server (``parquet``, ``csv``, ``json``, ``delta``, ``duckdb``) names
must resolve, symlinks included, inside a folder granted to the contract's team. Every team
has the home's sample folder (``ANDON_HOME/sample``, where ``andon data sample`` writes); a
platform-admin grants others (``andon data root add TEAM PATH``, audited); and a contract
file applied in process by the machine's own user (the local CLI, the SDK) grants its own
folder, audited and reported. A contract sent over REST grants nothing.

Paths are checked when a contract is applied and again each time its files are opened (check
run, snapshot, profile, classification), so a file swapped for a symlink after the apply is
refused too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.config import Settings
from andon.core.context import Context
from andon.core.errors import Invalid, NotFound
from andon.core.ids import new_id
from andon.data.contracts import Contract
from andon.store.tables import auth as t
from andon.store.tables import roots as r

ADMIN = "admin"
CLI_APPLY = "cli-apply"
BUILTIN = "built-in"


@dataclass(frozen=True, slots=True)
class DataRootRecord:
    """A folder a team's contracts may read, and who granted it."""

    team: str
    path: str
    origin: str  # "built-in", "admin" or "cli-apply"
    granted_by: str
    granted_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "team": self.team,
            "path": self.path,
            "origin": self.origin,
            "granted_by": self.granted_by,
            "granted_at": self.granted_at.isoformat() if self.granted_at else None,
        }


def sample_root(settings: Settings) -> Path:
    """The built-in root every team has: the home's sample folder."""
    return (settings.home / "sample").resolve()


def team_roots(session: Session, settings: Settings, team_id: str) -> tuple[Path, ...]:
    """Every folder team ``team_id`` may read, the built-in sample folder first."""
    rows = session.scalars(select(r.DataRoot.path).where(r.DataRoot.team_id == team_id))
    return (sample_root(settings), *(Path(p) for p in rows))


def inside(path: Path, roots: Iterable[Path]) -> bool:
    """Whether ``path`` (resolved, symlinks followed) lies in one of ``roots``."""
    real = path.resolve()
    return any(real.is_relative_to(root) for root in roots)


def confine(path: Path, roots: Sequence[Path], *, team: str, field: str) -> Path:
    """``path`` with symlinks resolved, or :class:`Invalid` naming ``field`` if outside roots."""
    real = path.resolve()
    if inside(real, roots):
        return real
    shown = str(path) if real == path else f"{path} (resolves to {real})"
    raise Invalid(
        f"{shown} is outside the data roots of team '{team}'",
        field=field,
        hint=f"andon data root list {team}; a platform-admin grants a folder with "
        f"andon data root add {team} FOLDER",
    )


def server_paths(contract: Contract, base_dir: Path | str) -> list[tuple[str, Path]]:
    """``(field, path)`` of each file server's ``path``, relative ones against ``base_dir``."""
    found = []
    for i, server in enumerate(contract.servers):
        if not server.is_file:
            continue
        path = Path(server.path).expanduser()
        if not path.is_absolute():
            path = Path(base_dir) / path
        found.append((f"servers[{i}].{server.path_key}", path))
    return found


def confine_contract(
    contract: Contract, base_dir: Path | str, roots: Sequence[Path], *, team: str
) -> None:
    """Refuse the contract if any file server's path resolves outside ``roots``."""
    for field, path in server_paths(contract, base_dir):
        confine(path, roots, team=team, field=field)


def grant_folder(
    session: Session, ctx: Context, team: t.Team, folder: Path, *, reason: str
) -> DataRootRecord | None:
    """Grant ``folder`` to ``team`` as applied from the local CLI; None when already inside.

    Call inside the applying transaction, after its permission check: the caller is the
    machine's own user applying a file it can read, so this needs no ``data_root.manage``.
    """
    real = folder.resolve()
    if inside(real, team_roots(session, ctx.settings, team.id)):
        return None
    return grant(session, ctx, team, real, CLI_APPLY, reason)


def grant(
    session: Session, ctx: Context, team: t.Team, real: Path, origin: str, reason: str
) -> DataRootRecord:
    """Store and audit the grant of folder ``real`` to ``team`` (inside the caller's check)."""
    now = ctx.clock.now()
    row = r.DataRoot(
        id=new_id("data_root"),
        team_id=team.id,
        path=str(real),
        granted_by=ctx.principal.name,
        granted_at=now,
        origin=origin,
    )
    session.add(row)
    session.flush()
    # An admin's grant is the use of data_root.manage; a local apply's is part of contract.apply.
    record_change(
        session,
        ctx,
        action="data_root.manage" if origin == ADMIN else "data_root.grant",
        object_id=row.id,
        change={"op": "grant", "team": team.name, "path": str(real), "origin": origin},
        reason=reason,
        event="data_root.granted",
    )
    return DataRootRecord(team.name, str(real), origin, ctx.principal.name, now)


def confine_files(
    session: Session, settings: Settings, contract: Contract, base_dir: Path, team_id: str
) -> None:
    """Refuse to open the contract's files if any resolves outside its team's roots.

    Checks each file server's path and each schema object's file on it (symlinks resolved),
    just before an engine opens them. A file that does not exist is left to the engine's
    own "no file" error.
    """
    from andon.data.engines import locate

    team = session.get(t.Team, team_id)
    assert team is not None  # a contract row always has its team
    roots = team_roots(session, settings, team_id)
    confine_contract(contract, base_dir, roots, team=team.name)
    for i, server in enumerate(contract.servers):
        if not server.is_file:
            continue
        for obj in contract.schema:
            try:
                file = locate(server, obj, base_dir)
            except NotFound:
                continue
            confine(file, roots, team=team.name, field=f"servers[{i}].{server.path_key}")
