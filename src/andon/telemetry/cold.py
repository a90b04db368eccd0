"""Where the cold tier lives: a local folder (``HOME/telemetry/cold`` by default) or any
fsspec URL (``ANDON_TELEMETRY_COLD_URL``: ``s3://bucket/prefix``, ``gs://``, ``az://``,
``file://``, ``memory://``...).

Storage options come from where each filesystem already reads them, never from the URL (a
URL with a password is refused): the protocol's own variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE`` for s3fs; ``GOOGLE_APPLICATION_CREDENTIALS`` for
gcsfs), fsspec's ``FSSPEC_<PROTOCOL>`` (JSON) and ``FSSPEC_<PROTOCOL>_<OPTION>`` variables
and config files, and ``ANDON_TELEMETRY_COLD_ENDPOINT`` for S3-compatible stores (MinIO,
Ceph) and GCS emulators. No message andon writes quotes a credential.

A cold file exists whole or not at all: locally it is written under a dot-name, flushed and
renamed (:mod:`andon.telemetry.tiers`); on an object store (:data:`ATOMIC_PUT`) one upload
makes the object appear complete; on any other fsspec filesystem it is uploaded under a
dot-name and moved into place.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePath, PurePosixPath
from typing import TYPE_CHECKING, Any

from andon.core.errors import AndonError, Invalid, Unavailable

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from andon.core.config import Settings

FIELD = "ANDON_TELEMETRY_COLD_URL"
ENDPOINT_FIELD = "ANDON_TELEMETRY_COLD_ENDPOINT"
ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})
"""Protocols whose upload makes an object appear only once it is complete."""
_ENDPOINT_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs"})
_PACKAGES = {"s3": "andon[s3]", "s3a": "andon[s3]", "gs": "gcsfs", "gcs": "gcsfs",
             "az": "adlfs", "abfs": "adlfs", "abfss": "adlfs"}  # fmt: skip
_COLD_NAME = re.compile(r"day=\d{4}-\d{2}-\d{2}/team=([^/]+)/[^/.][^/]*\.parquet$")
_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL|SESSION", re.IGNORECASE)
_HINT = f"check {FIELD}, {ENDPOINT_FIELD} and the filesystem's credentials"


@dataclass(frozen=True)
class ColdStore:
    """The cold tier's filesystem and root folder (a path in the filesystem's own terms)."""

    fs: AbstractFileSystem | None  # None: a local folder, read and written with pathlib
    root: str
    protocol: str
    shown: str  # the location as messages name it (no credentials)

    @property
    def local(self) -> bool:
        """Whether the cold tier is a local folder (DuckDB reads it without fsspec)."""
        return self.fs is None

    def path(self, signal: str, day: date, team: str, move_id: str) -> PurePath:
        """Where the cold file of one move is."""
        parts = (signal, f"day={day.isoformat()}", f"team={team}", f"{move_id}.parquet")
        if self.fs is None:
            return Path(self.root).joinpath(*parts)
        return PurePosixPath(self.root).joinpath(*parts)

    def url(self, path: PurePath) -> str:
        """What DuckDB is given to read ``path``: the local path, or ``protocol://path``."""
        return str(path) if self.fs is None else f"{self.protocol}://{path}"

    def team_folder(self, signal: str, day: date, team: str) -> PurePath:
        """The folder of one day of one team of one signal."""
        return self.path(signal, day, team, "x").parent

    def files(self, signal: str, teams: list[str]) -> list[PurePath]:
        """The cold files of ``signal`` for ``teams`` (remote: one listing of the signal)."""
        if self.fs is None:
            root = Path(self.root) / signal
            if not root.is_dir():
                return []
            found: list[PurePath] = []
            for team in teams:
                found.extend(root.glob(f"day=*/team={team}/*.parquet"))
            return sorted(found)
        wanted = set(teams)
        with self.reaching("listed"):
            self.fs.invalidate_cache()  # another process may have written or expired since
            try:
                names = self.fs.find(posixpath.join(self.root, signal))
            except FileNotFoundError:
                names = []
        picked: list[PurePath] = []
        for name in names:
            match = _COLD_NAME.search(name)
            if match and match.group(1) in wanted:
                picked.append(PurePosixPath(name))
        return sorted(picked)

    def exists(self, path: PurePath) -> bool:
        """Whether the cold file at ``path`` is there (whole: it is never there in part)."""
        if self.fs is None:
            return Path(path).exists()
        with self.reaching("read"):
            self.fs.invalidate_cache(str(path.parent))
            return bool(self.fs.exists(str(path)))

    def upload(self, staged: Path, path: PurePath) -> None:
        """Put the finished local file ``staged`` at ``path``, appearing whole or not at all."""
        assert self.fs is not None
        with self.reaching("written"):
            if self.protocol in ATOMIC_PUT:
                self.fs.put_file(str(staged), str(path))
                return
            self.fs.makedirs(str(path.parent), exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            self.fs.put_file(str(staged), str(tmp))
            self.fs.mv(str(tmp), str(path))

    def remove_folder(self, folder: PurePath) -> None:
        """Delete a day's folder of one team and everything in it."""
        assert self.fs is not None
        with self.reaching("written"):
            self.fs.rm(str(folder), recursive=True)
            self.fs.invalidate_cache()

    def allowed(self, path: PurePath) -> list[str]:
        """The spellings of ``path`` DuckDB may check against ``allowed_paths``: as given,
        and as fsspec names it back (``memory://x`` becomes ``memory:///x``)."""
        url = self.url(path)
        if self.fs is None:
            return [url]
        return sorted({url, f"{self.protocol}://{self.fs._strip_protocol(url)}"})

    @contextmanager
    def reaching(self, verb: str) -> Iterator[None]:
        """Turn a failure of the filesystem into one line naming the setting, quoting no
        credential."""
        try:
            yield
        except AndonError:
            raise
        except Exception as exc:  # OSError, and botocore's, aiohttp's... own classes
            raise Unavailable(
                f"the cold tier at {self.shown} could not be {verb}: {_kind(exc)}",
                field=FIELD,
                hint=_HINT,
            ) from None


def local(home: Path) -> ColdStore:
    """The default cold tier: ``HOME/telemetry/cold``."""
    root = home / "telemetry" / "cold"
    return ColdStore(None, str(root), "file", str(root))


def of(settings: Settings) -> ColdStore:
    """The cold tier ``settings`` configure."""
    return open_store(settings.home, settings.telemetry_cold_url, settings.telemetry_cold_endpoint)


def open_store(home: Path, url: str | None, endpoint: str | None = None) -> ColdStore:
    """The cold tier at ``url`` (a local path or an fsspec URL; ``None``: under ``home``);
    :class:`Invalid` naming the setting when it cannot be opened."""
    if not url:
        if endpoint:
            raise Invalid(f"is set but {FIELD} is not", field=ENDPOINT_FIELD)
        return local(home)
    protocol = url.split("://", 1)[0].lower() if "://" in url else "file"
    if endpoint and protocol not in _ENDPOINT_PROTOCOLS:
        raise Invalid("applies to s3:// and gs:// cold tiers only", field=ENDPOINT_FIELD)
    if protocol in ("file", "local"):
        path = Path(url.split("://", 1)[-1]).expanduser().absolute()
        return ColdStore(None, str(path), "file", str(path))
    shown = redact(url)
    options: dict[str, Any] = {"endpoint_url": endpoint} if endpoint else {}
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(url, **options)
    except ImportError:
        package = _PACKAGES.get(protocol, f"the fsspec implementation of {protocol}://")
        raise Invalid(
            f"{protocol}:// needs a package that is not installed: {package}",
            field=FIELD,
            hint=f"pip install {package}" if protocol in _PACKAGES else "see fsspec's list",
        ) from None
    except Exception as exc:
        raise Invalid(f"{shown} cannot be opened: {_kind(exc)}", field=FIELD) from None
    root = str(root).rstrip("/")
    if not root.strip("/"):
        raise Invalid(f"{shown} names no bucket or folder", field=FIELD)
    names = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
    return ColdStore(fs, root, protocol if protocol in names else str(names[0]), shown)


def redact(url: str) -> str:
    """``url`` without user, password and query string (where credentials could be)."""
    if "://" not in url:
        return url
    protocol, rest = url.split("://", 1)
    host, sep, path = rest.partition("/")
    return f"{protocol}://{host.rsplit('@', 1)[-1]}{sep}{path.split('?', 1)[0]}"


def _kind(exc: BaseException) -> str:
    """An exception as its class and first line, every credential-looking variable's value
    blanked out (an error's text may quote a key or a signed request)."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    for name, value in os.environ.items():
        if len(value) >= 6 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "***")
    text = re.sub(r"://[^/@\s]*@", "://", text)  # user:password@ in a URL
    kind = type(exc).__name__
    return f"{kind}: {text[:200]}" if text else kind
