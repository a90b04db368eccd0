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
    assert list((tmp_path / "artifacts" / "tmp").iterdir()) == []  # no temp left over


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


def test_a_sweep_never_takes_a_live_scratch_folder(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    with store.scratch() as folder:
        (folder / "part.parquet").write_bytes(b"x")
        assert store.sweep() == []  # another open file description: the lock holds
        with store.scratch() as other:  # a second writer sweeps on entry, and leaves this one
            assert other != folder and (folder / "part.parquet").exists()
    assert list((tmp_path / "artifacts" / "tmp").iterdir()) == []


def test_a_sweep_removes_temp_files_of_earlier_versions_once_they_are_an_hour_old(
    tmp_path: Path,
) -> None:
    import os
    import time

    root = tmp_path / "artifacts"
    (root / "incoming").mkdir(parents=True)
    old, fresh = root / "tmpold.parquet", root / "tmpfresh.parquet"
    stale = root / "incoming" / ".tmp-abc"
    for path in (old, fresh, stale):
        path.write_bytes(b"x")
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    os.utime(stale, (hour_ago, hour_ago))
    assert sorted(ArtifactStore(root).sweep()) == sorted([old, stale])
    assert fresh.exists() and not old.exists() and not stale.exists()
