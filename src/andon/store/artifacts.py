"""Content-addressed, write-once artifact storage under ``ANDON_HOME/artifacts``.

An artifact lives at ``sha256/ab/cdef...`` (its SHA-256 split after two hex digits). Writes
go to a temporary file in the same folder and are renamed into place, so a reader never sees
half an artifact; an existing digest is never rewritten. Every read hashes the bytes again
and raises :class:`~andon.core.errors.TamperedArtifact` when they no longer match.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from andon.core.errors import Invalid, NotFound, TamperedArtifact

_CHUNK = 1 << 20
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

    def put_file(self, source: Path) -> StoredArtifact:
        """Copy ``source`` in, hashing while copying; returns its digest."""
        source = Path(source)
        if not source.is_file():
            raise NotFound(f"no file at {source}", field="artifact")
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=incoming, prefix=".tmp-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            target = self.path_for(digest)
            if target.exists():
                tmp.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp.chmod(0o444)
                os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return StoredArtifact(digest, size, target)

    def put_bytes(self, data: bytes, name: str = "artifact") -> StoredArtifact:
        """Store ``data`` (small artifacts, tests)."""
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=incoming) as folder:
            path = Path(folder) / name
            path.write_bytes(data)
            return self.put_file(path)

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
