"""Data roots: the folders inside which a team's file and DuckDB servers may read.

The service operations (grant, withdraw, list); what a root confines and when it is checked
is in :mod:`andon.data.reach`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from andon.audit.service import record_change
from andon.auth.queries import team_by_name
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid, NotFound
from andon.data.reach import ADMIN, BUILTIN, DataRootRecord, grant, inside, sample_root, team_roots
from andon.store.tables import roots as r

__all__ = ["DataRootRecord", "add_root", "list_roots", "remove_root"]


def add_root(ctx: Context, team: str, path: Path | str, *, reason: str = "") -> DataRootRecord:
    """Grant ``team`` the folder ``path`` (absolute, existing; symlinks resolved). Audited.

    Needs ``data_root.manage`` (platform-admin). Granting a folder already inside one of the
    team's roots is refused as redundant.
    """
    folder = Path(path).expanduser()
    if not folder.is_absolute():
        raise Invalid(f"{str(folder)!r} must be an absolute path", field="path")
    with ctx.db.transaction() as session:
        ctx.require("data_root.manage")
        row = team_by_name(session, team)
        if not folder.is_dir():
            raise Invalid(f"no folder at {folder}", field="path")
        real = folder.resolve()
        if inside(real, team_roots(session, ctx.settings, row.id)):
            raise Invalid(f"{real} is already inside a data root of team '{team}'", field="path")
        return grant(session, ctx, row, real, ADMIN, reason)


def remove_root(ctx: Context, team: str, path: Path | str, *, reason: str = "") -> None:
    """Withdraw a granted folder from ``team`` (the built-in sample folder cannot be). Audited.

    Needs ``data_root.manage``. Contracts whose files lie only in that folder are refused at
    their next check run, snapshot or profile.
    """
    with ctx.db.transaction() as session:
        ctx.require("data_root.manage")
        team_row = team_by_name(session, team)
        real = str(Path(path).expanduser().resolve())
        row = session.scalar(
            select(r.DataRoot).where(r.DataRoot.team_id == team_row.id, r.DataRoot.path == real)
        )
        if row is None:
            raise NotFound(f"team '{team}' has no data root {real}", field="path")
        session.delete(row)
        record_change(
            session,
            ctx,
            action="data_root.manage",
            object_id=row.id,
            change={"op": "revoke", "team": team, "path": real},
            reason=reason,
            event="data_root.revoked",
        )


def list_roots(ctx: Context, team: str) -> list[DataRootRecord]:
    """The folders ``team``'s contracts may read, the built-in sample folder first.

    Needs ``contract.read`` on the team: whoever reads its contracts may see where they read.
    """
    with ctx.db.read() as session:
        row = team_by_name(session, team)
        ctx.require("contract.read", team_id=row.id)
        rows = session.scalars(
            select(r.DataRoot).where(r.DataRoot.team_id == row.id).order_by(r.DataRoot.path)
        )
        granted = [
            DataRootRecord(team, x.path, x.origin, x.granted_by, as_utc(x.granted_at)) for x in rows
        ]
    builtin = DataRootRecord(team, str(sample_root(ctx.settings)), BUILTIN, "andon", None)
    return [builtin, *granted]
