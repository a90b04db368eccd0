"""Content-addressed, write-once artifact storage under ``ANDON_HOME/artifacts``.

An artifact lives at ``sha256/ab/cdef...`` (its SHA-256 split after two hex digits). Writes
go to a temporary file and are renamed into place, so a reader never sees half an artifact;
an existing digest is never rewritten. Every read hashes the bytes again and raises
:class:`~andon.core.errors.TamperedArtifact` when they no longer match.

Temporary files (a dataset snapshot's Parquet, a copy being hashed) live in a scratch folder
of their own under ``tmp/``, beside a lock file the writer holds locked (``flock``) while it
works. The kernel drops the lock when the writer's process ends, however it ends (``SIGKILL``
included), so every write first sweeps the folders whose lock it can take: a killed writer's
files go at the next write, and a live writer's are never touched, however long it runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from andon.core.errors import Invalid, NotFound, TamperedArtifact

_CHUNK = 1 << 20
_LEGACY_AGE = 3600  # seconds: temp files of versions before tmp/ (no lock to ask) go then
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    """Where an artifact was stored and what it hashes to."""

    digest: str
    size: int
    path: Path


class ArtifactStore:
    """The artifact folder of one andon home."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, digest: str) -> Path:
        """Where the artifact with ``digest`` lives (whether or not it exists)."""
        if not _DIGEST.match(digest):
            raise Invalid(f"'{digest}' is not a SHA-256 hex digest", field="digest")
        return self.root / "sha256" / digest[:2] / digest[2:]

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A fresh folder for temporary files, removed afterwards (or, if this process dies,
        by the next write's :meth:`sweep`)."""
        self.sweep()
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        while True:
            fd, lock_name = tempfile.mkstemp(dir=tmp, prefix=f"{os.getpid()}-", suffix=".lock")
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:  # a sweep may have taken the fresh lock file before we locked it: start over
                if os.stat(lock_name).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        folder = Path(lock_name).with_suffix("")
        try:
            folder.mkdir()
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            Path(lock_name).unlink(missing_ok=True)
            os.close(fd)

    def sweep(self) -> list[Path]:
        """Remove the scratch folders of writers that are gone; returns what it removed."""
        removed: list[Path] = []
        tmp = self.root / "tmp"
        for lock in sorted(tmp.glob("*.lock")) if tmp.is_dir() else ():
            try:
                fd = os.open(lock, os.O_RDWR)
            except FileNotFoundError:  # its writer finished meanwhile
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live writer holds it
                os.close(fd)
                continue
            try:
                folder = lock.with_suffix("")
                shutil.rmtree(folder, ignore_errors=True)
                lock.unlink(missing_ok=True)
                removed.append(folder)
            finally:
                os.close(fd)
        cutoff = time.time() - _LEGACY_AGE
        legacy = [*self.root.glob("tmp*.parquet"), *(self.root / "incoming").glob("*")]
        for path in legacy:
            try:
                if path.lstat().st_mtime < cutoff:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
                    removed.append(path)
            except OSError:  # gone already, or not ours to remove
                continue
        return removed

    def put_file(self, source: Path) -> StoredArtifact:
        """Copy ``source`` in, hashing while copying; returns its digest."""
        source = Path(source)
        if not source.is_file():
            raise NotFound(f"no file at {source}", field="artifact")
        with self.scratch() as folder:
            return self._put(source, folder / "incoming")

    def put_bytes(self, data: bytes, name: str = "artifact") -> StoredArtifact:
        """Store ``data`` (small artifacts, tests)."""
        with self.scratch() as folder:
            path = folder / name
            path.write_bytes(data)
            return self._put(path, folder / "incoming")

    def move_in(self, path: Path) -> StoredArtifact:
        """Store a file written in one of this store's :meth:`scratch` folders by renaming it
        into place (no second copy); returns its digest."""
        hasher = hashlib.sha256()
        size = 0
        with path.open("rb") as src:
            while chunk := src.read(_CHUNK):
                hasher.update(chunk)
                size += len(chunk)
        return self._place(path, hasher.hexdigest(), size)

    def _place(self, tmp: Path, digest: str, size: int) -> StoredArtifact:
        target = self.path_for(digest)
        if target.exists():
            tmp.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.chmod(0o444)
            os.replace(tmp, target)
        return StoredArtifact(digest, size, target)

    def _put(self, source: Path, tmp: Path) -> StoredArtifact:
        hasher = hashlib.sha256()
        size = 0
        with tmp.open("wb") as out, source.open("rb") as src:
            while chunk := src.read(_CHUNK):
                hasher.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        return self._place(tmp, hasher.hexdigest(), size)

    def verify(self, digest: str) -> Path:
        """The artifact's path after hashing it again; raises if missing or tampered."""
        path = self.path_for(digest)
        if not path.is_file():
            raise NotFound(f"artifact sha256:{digest[:12]} is missing from {self.root}")
        hasher = hashlib.sha256()
        with path.open("rb") as src:
            while chunk := src.read(_CHUNK):
                hasher.update(chunk)
        actual = hasher.hexdigest()
        if actual != digest:
            raise TamperedArtifact(
                f"artifact sha256:{digest[:12]} was modified on disk (now hashes to "
                f"sha256:{actual[:12]}): refusing to load it",
                digest=digest,
            )
        return path

    def read_bytes(self, digest: str) -> bytes:
        """The artifact's bytes, verified against ``digest``."""
        path = self.path_for(digest)
        if not path.is_file():
            raise NotFound(f"artifact sha256:{digest[:12]} is missing from {self.root}")
        data = path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise TamperedArtifact(
                f"artifact sha256:{digest[:12]} was modified on disk (now hashes to "
                f"sha256:{actual[:12]}): refusing to load it",
                digest=digest,
            )
        return data
