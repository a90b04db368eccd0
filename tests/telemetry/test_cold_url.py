"""The cold tier on an fsspec URL: S3 (a real S3 server on 127.0.0.1), memory://, file://."""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from andon.auth import service as auth
from andon.core.config import load_settings
from andon.core.context import Context
from andon.core.errors import Invalid, Unavailable
from andon.telemetry import cold, hot, query, tiers
from andon.telemetry import service as telemetry
from andon.telemetry.cold import ColdStore
from tests.cli.conftest import ANDON
from tests.cli.test_cli import _one_clear_line
from tests.telemetry.test_tiers import LIMITS, TODAY, fill

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYzz-cold"
FIELD = "ANDON_TELEMETRY_COLD_URL"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A real S3 server (moto's, over HTTP) on 127.0.0.1, for this module."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Credentials as s3fs reads them: the AWS variables."""
    env = {"AWS_ACCESS_KEY_ID": "AKIACOLDTIERTEST", "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def bucket(endpoint: str, aws: dict[str, str]) -> str:
    """A new, empty bucket on the S3 server."""
    import s3fs

    name = f"cold-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True).mkdir(name)
    return name


def objects(endpoint: str, bucket: str) -> list[str]:
    """Every key in ``bucket``, read with a client of its own (not andon's)."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def counted(home: Path, store: ColdStore, teams: tuple[str, ...] = ("home",)) -> tuple[int, int]:
    result = query.run(home, list(teams), "SELECT count(*), count(DISTINCT trace_id) FROM spans",
                       LIMITS, store=store)  # fmt: skip
    return tuple(result.table.to_pylist()[0].values())


def test_retain_to_s3_query_sees_each_span_once_and_expiry_deletes_remote_days(
    tmp_path: Path, endpoint: str, bucket: str
) -> None:
    total = fill(tmp_path, 40, 5)
    store = cold.open_store(tmp_path, f"s3://{bucket}/andon/cold", endpoint)
    report = tiers.retain(tmp_path, "home", TODAY, hot_days=30, cold_days=180, store=store)
    assert (report.moves, report.moved_rows) == (9, 45)  # days 31 to 39 back
    keys = objects(endpoint, bucket)
    assert len(keys) == 9
    assert all(k.startswith("andon/cold/spans/day=") and "/team=home/" in k for k in keys)
    assert not (tmp_path / "telemetry" / "cold").exists()  # nothing went to the local tier
    assert list((tmp_path / "telemetry" / "staging" / "home").iterdir()) == []
    assert sorted(f.stem for f in tiers.cold_files(store, "spans", ["home"])) == sorted(
        k.rsplit("/", 1)[1].removesuffix(".parquet") for k in keys
    )
    with store.fs.open(f"{bucket}/{keys[0]}", "rb") as f:  # type: ignore[union-attr]
        assert pq.ParquetFile(f).metadata.row_group(0).column(0).compression == "ZSTD"
    with hot.reading(tmp_path, "home") as con:
        assert con.execute("SELECT count(*) FROM spans").fetchone() == (total - 45,)
        assert (
            con.execute("SELECT min(file) FROM moves").fetchone()[0].startswith(f"s3://{bucket}/")
        )
    assert counted(tmp_path, store) == (total, total)
    assert counted(tmp_path, cold.local(tmp_path)) == (total - 45, total - 45)  # the tier read
    again = tiers.retain(tmp_path, "home", TODAY, hot_days=30, cold_days=180, store=store)
    assert (again.moves, again.moved_rows, again.expired_days) == (0, 0, 0)
    later = TODAY + timedelta(days=150)  # then days 31 to 39 back are older than 180 days
    gone = tiers.retain(tmp_path, "home", later, hot_days=180, cold_days=180, store=store)
    assert gone.expired_days == 9 and gone.moves == 0
    assert objects(endpoint, bucket) == []
    assert counted(tmp_path, store) == (total - 45, total - 45)


def test_the_service_reads_the_setting_and_audits_where_the_days_went(
    admin: Context, endpoint: str, bucket: str
) -> None:
    auth.create_team(admin, "home", owners=["admin"])
    home = admin.settings.home
    total = fill(home, 35, 3)
    settings = load_settings(home=home, database_url=admin.settings.database_url,
                             telemetry_cold_url=f"s3://{bucket}/t", telemetry_cold_endpoint=endpoint)  # fmt: skip
    ctx = auth.context_for(admin.db, settings, "admin", clock=admin.clock)
    report = telemetry.retain(ctx, "home", TODAY)
    assert report.moves == 4 and len(objects(endpoint, bucket)) == 4
    rows = telemetry.query(ctx, "SELECT count(*) AS n, count(DISTINCT trace_id) AS t FROM spans")
    assert rows.table.to_pylist() == [{"n": total, "t": total}]
    from andon.audit import service as audit

    entry = next(e for e in audit.list_entries(ctx, limit=5) if e.action == "telemetry.retain")
    assert entry.change["cold_tier"] == f"s3://{bucket}/t"


def test_queries_on_s3_reach_only_the_listed_files_of_readable_teams(
    tmp_path: Path, endpoint: str, bucket: str
) -> None:
    from andon.telemetry import spool
    from andon.telemetry.writer import Writer
    from tests.telemetry.rows import spans
    from tests.telemetry.test_tiers import EPOCH_TODAY, KEEP_ALL

    day = 86_400 * 1_000_000_000
    for team in ("home", "away"):
        rows = [{"trace": i, "span": 0, "start": EPOCH_TODAY - 40 * day} for i in range(3)]
        spool.write(tmp_path, team, "spans", spans(rows, team))
    Writer(tmp_path, lambda _: KEEP_ALL, lambda _: {}, clock=lambda: EPOCH_TODAY).run_once()
    store = cold.open_store(tmp_path, f"s3://{bucket}/c", endpoint)
    for team in ("home", "away"):
        tiers.retain(tmp_path, team, TODAY, store=store)
    away = store.url(tiers.cold_files(store, "spans", ["away"])[0])
    for sql in (
        f"SELECT * FROM read_parquet('{away}')",
        f"SELECT * FROM '{away}'",
        f"SELECT * FROM read_parquet('s3://{bucket}/c/**/*.parquet')",
        f"SELECT * FROM read_parquet('s3://{bucket}/c/spans/day=*/team=away/*.parquet')",
        f"SELECT * FROM read_blob('s3://{bucket}/c/spans')",
        "SELECT * FROM read_text('https://127.0.0.1/')",
    ):
        with pytest.raises(Invalid, match="reaches outside"):
            query.run(tmp_path, ["home"], sql, LIMITS, store=store)
    assert counted(tmp_path, store) == (3, 3)
    assert counted(tmp_path, store, ("home", "away")) == (6, 3)


_JOB = """
import sys
from datetime import date
from pathlib import Path
from andon.telemetry import cold, tiers
store = cold.open_store(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
tiers.retain(Path(sys.argv[1]), "home", date(2026, 12, 4), hot_days=1, cold_days=3650, store=store)
"""


def test_a_job_killed_while_uploading_leaves_every_span_exactly_once(
    tmp_path: Path, endpoint: str, bucket: str
) -> None:
    total = fill(tmp_path, 40, 10)
    url = f"s3://{bucket}/k"
    store = cold.open_store(tmp_path, url, endpoint)
    rng = random.Random(11)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    kills = 0
    for _ in range(5):
        before = len(objects(endpoint, bucket))
        job = subprocess.Popen([sys.executable, "-c", _JOB, str(tmp_path), url, endpoint], env=env)
        # Kill once the job has uploaded a file or a few: between an upload and its finish,
        # or in the middle of the next move.
        target = before + rng.randint(1, 4)
        deadline = time.monotonic() + 60
        while job.poll() is None and len(objects(endpoint, bucket)) < target:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        if job.poll() is None:
            job.send_signal(signal.SIGKILL)
            kills += 1
        job.wait()
        assert counted(tmp_path, store) == (total, total)  # nothing doubled or lost
    tiers.retain(tmp_path, "home", TODAY, hot_days=1, cold_days=3650, store=store)
    assert kills >= 3
    assert counted(tmp_path, store) == (total, total)
    assert len(objects(endpoint, bucket)) == 38  # one file per moved day, none twice
    with hot.reading(tmp_path, "home") as con:
        assert con.execute("SELECT count(*) FROM moves WHERE state <> 'done'").fetchone() == (0,)


def test_an_upload_that_fails_stays_planned_and_the_next_run_finishes_it(
    tmp_path: Path, endpoint: str, aws: dict[str, str]
) -> None:
    total = fill(tmp_path, 5, 4)
    missing = f"cold-missing-{uuid.uuid4().hex[:8]}"
    store = cold.open_store(tmp_path, f"s3://{missing}/x", endpoint)
    with pytest.raises(Unavailable) as failed:
        tiers.retain(tmp_path, "home", TODAY, hot_days=1, store=store)
    assert failed.value.field == FIELD and f"s3://{missing}/x" in failed.value.message
    assert SECRET not in str(failed.value) and SECRET not in str(failed.value.details)
    assert counted(tmp_path, store) == (total, total)  # the planned day is still read hot
    import s3fs

    s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True).mkdir(missing)
    report = tiers.retain(tmp_path, "home", TODAY, hot_days=1, store=store)
    assert report.finished == 1 and report.moves == 2  # days 2, 3, 4 back: one planned before
    assert counted(tmp_path, store) == (total, total)
    assert len(objects(endpoint, missing)) == 3


@pytest.mark.parametrize("scheme", ["memory", "file"])
def test_memory_and_file_urls(tmp_path: Path, scheme: str) -> None:
    total = fill(tmp_path, 12, 3)
    place = (
        f"memory://andon-{uuid.uuid4().hex[:8]}/cold"
        if scheme == "memory"
        else (f"file://{tmp_path / 'elsewhere'}")
    )
    store = cold.open_store(tmp_path, place)
    assert store.local == (scheme == "file")
    report = tiers.retain(tmp_path, "home", TODAY, hot_days=5, cold_days=8, store=store)
    assert report.moves == 6 and report.expired_days == 3  # days 6..11 moved, 9..11 expired
    files = tiers.cold_files(store, "spans", ["home"])
    assert len(files) == 3
    if scheme == "file":
        assert all(str(f).startswith(str(tmp_path / "elsewhere")) for f in files)
    assert counted(tmp_path, store) == (total - 9, total - 9)
    assert not (tmp_path / "telemetry" / "cold").exists()


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({"telemetry_cold_url": "ftps3://bucket/x"}, FIELD, "not a protocol fsspec knows"),
        ({"telemetry_cold_url": "s3://"}, FIELD, "names no bucket"),
        ({"telemetry_cold_url": "simplecache::s3://b/x"}, FIELD, "chained"),
        ({"telemetry_cold_url": f"s3://AKIA:{SECRET}@b/x"}, FIELD, "password"),
        ({"telemetry_cold_endpoint": "minio:9000"}, "ANDON_TELEMETRY_COLD_ENDPOINT", "http"),
        ({"telemetry_cold_endpoint": f"http://u:{SECRET}@h"}, "ANDON_TELEMETRY_COLD_ENDPOINT",
         "credentials"),
    ],
)  # fmt: skip
def test_bad_settings_name_the_setting_and_quote_no_secret(
    settings: dict[str, str], field: str, words: str
) -> None:
    with pytest.raises(Invalid, match=words) as refused:
        load_settings(**settings)
    assert refused.value.field == field and SECRET not in str(refused.value)


def test_a_protocol_without_its_package_or_an_endpoint_it_cannot_take(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="gcsfs") as missing:
        cold.open_store(tmp_path, "gs://bucket/cold")
    assert missing.value.field == FIELD and "pip install gcsfs" in missing.value.details["hint"]
    with pytest.raises(Invalid, match="s3:// and gs://") as wrong:
        cold.open_store(tmp_path, "memory://x", "http://127.0.0.1:9000")
    assert wrong.value.field == "ANDON_TELEMETRY_COLD_ENDPOINT"


def test_the_cli_says_one_line_naming_the_setting(tmp_path: Path, aws: dict[str, str]) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ANDON_")}
    base["ANDON_HOME"] = str(tmp_path / "home")

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([ANDON, *args], env={**base, **(env or {})}, capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip

    assert run("init").returncode == 0
    assert run("team", "create", "shop", "--owner", "admin").returncode == 0
    for env, words in (
        ({FIELD: "nope://x"}, "not a protocol fsspec knows"),
        ({FIELD: "gs://bucket/cold"}, "gcsfs"),
        ({FIELD: f"s3://AKIA:{SECRET}@bucket/cold"}, "password"),
    ):
        done = run("telemetry", "query", "SELECT count(*) FROM spans", env=env)
        line = _one_clear_line(done)
        assert done.returncode == 2 and FIELD in line and words in line, line
        assert SECRET not in done.stdout + done.stderr
    unreachable = {FIELD: "s3://bucket/cold", "ANDON_TELEMETRY_COLD_ENDPOINT": "http://127.0.0.1:9",
                   "AWS_MAX_ATTEMPTS": "1", "FSSPEC_S3": '{"retries": 1}'}  # fmt: skip
    done = run("telemetry", "retain", "--team", "shop", env=unreachable)
    line = _one_clear_line(done)
    assert done.returncode == 1 and FIELD in line and SECRET not in done.stdout + line, line
