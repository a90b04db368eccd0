"""Content-addressed artifacts: write-once, atomic, verified on every read."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from andon.core.errors import GateFailed, Invalid, NotFound, TamperedArtifact
from andon.store.artifacts import ArtifactStore


def test_put_stores_under_the_digest_and_dedupes(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    source = tmp_path / "m.bin"
    source.write_bytes(b"weights" * 1000)
    first = store.put_file(source)
    digest = hashlib.sha256(b"weights" * 1000).hexdigest()
    assert first.digest == digest and first.size == 7000
    assert first.path == tmp_path / "artifacts" / "sha256" / digest[:2] / digest[2:]
    assert store.put_file(source) == first  # write-once: same digest, same file
    assert store.read_bytes(digest) == b"weights" * 1000
    assert list((tmp_path / "artifacts" / "incoming").iterdir()) == []  # no temp left over


def test_tampered_artifact_is_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    stored = store.put_bytes(b"original")
    os.chmod(stored.path, 0o644)
    stored.path.write_bytes(b"evil")
    with pytest.raises(TamperedArtifact, match="modified on disk") as info:
        store.read_bytes(stored.digest)
    assert isinstance(info.value, GateFailed) and info.value.exit_code == 4
    with pytest.raises(TamperedArtifact):
        store.verify(stored.digest)


def test_missing_and_malformed_digests(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(NotFound, match="missing"):
        store.read_bytes("0" * 64)
    with pytest.raises(Invalid):
        store.read_bytes("../../etc/passwd")
    with pytest.raises(NotFound):
        store.put_file(tmp_path / "nope")


def test_tampered_artifact_error_declares_its_codes() -> None:
    assert TamperedArtifact.http_status == 409 and TamperedArtifact.exit_code == 4
    assert TamperedArtifact.slug() == "tampered-artifact"
