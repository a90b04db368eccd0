"""The spool: where producers hand over batches, durably, before anyone acknowledges them.

A batch is one Arrow IPC file, ``HOME/telemetry/spool/<team>/<signal>-<ulid>.arrow``, written
under a dot-name, flushed to disk (``fsync``), renamed into place and the directory flushed:
once :func:`write` returns, a power cut cannot lose the batch, and a half-written one is never
visible under its real name. The intake acknowledges a request only after this returns, so a
writer that is down or restarting loses nothing: the files wait and it catches up.

The gateway's workers spool OTLP/JSON files of their own at the top of the spool folder
(``gateway-*.json``); the writer folds those too (:func:`gateway_files`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from andon.core.ids import new_id
from andon.telemetry.schema import SCHEMAS

_TEAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True, slots=True)
class SpoolFile:
    """One batch waiting in the spool."""

    path: Path
    team: str
    signal: str

    @property
    def name(self) -> str:
        """The file's name, unique across the spool (the writer's ledger key)."""
        return f"{self.team}/{self.path.name}"


def folder(home: Path) -> Path:
    """The spool folder of an andon home."""
    return home / "telemetry" / "spool"


def write(home: Path, team: str, signal: str, table: pa.Table) -> SpoolFile:
    """Spool ``table`` (rows of ``signal`` for ``team``) durably and return its file."""
    if signal not in SCHEMAS:
        raise ValueError(f"unknown signal {signal!r}")
    if not _TEAM.match(team):
        raise ValueError(f"team name {team!r} cannot name a spool folder")
    directory = folder(home) / team
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{signal}-{new_id('telemetry_batch')}.arrow"
    tmp = directory / f".{name}.tmp"
    table = table.cast(SCHEMAS[signal])
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    _fsync(tmp)
    final = directory / name
    tmp.replace(final)
    _fsync(directory)
    return SpoolFile(final, team, signal)


def read(file: SpoolFile) -> pa.Table:
    """The rows of a spooled batch."""
    with pa.memory_map(str(file.path)) as source:
        return pa.ipc.open_stream(source).read_all()


def waiting(home: Path) -> list[SpoolFile]:
    """Every batch in the spool, oldest first (names sort by time: they carry a ULID)."""
    root = folder(home)
    if not root.is_dir():
        return []
    found: list[SpoolFile] = []
    for team_dir in sorted(p for p in root.iterdir() if p.is_dir() and _TEAM.match(p.name)):
        for path in sorted(team_dir.glob("*.arrow")):
            signal = path.name.split("-", 1)[0]
            if signal in SCHEMAS and not path.name.startswith("."):
                found.append(SpoolFile(path, team_dir.name, signal))
    return sorted(found, key=lambda f: f.path.name.split("-", 1)[1])


def gateway_files(home: Path) -> list[Path]:
    """The gateway workers' OTLP/JSON span files, oldest first."""
    root = folder(home)
    if not root.is_dir():
        return []
    return sorted(root.glob("gateway-*.json"), key=lambda p: p.stat().st_mtime_ns)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
