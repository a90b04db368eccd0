"""The audit chain survives a rewrite: a keyed hash, and signed anchors kept outside the database.

The probe found `andon audit verify` saying "intact" after (a) the tail was cut and the head
moved to match, (b) every entry was deleted and the head reset, (c) a row was edited and every
later hash recomputed. Each is done here with raw SQL on the real database (SQLite and
PostgreSQL), as an attacker with write access to the tables would, and each is caught.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from andon.audit import anchors, keys
from andon.audit import service as audit
from andon.audit.records import GENESIS, entry_hash, sha256_text
from andon.core.clock import FrozenClock
from andon.core.config import Settings
from andon.core.context import Context
from andon.core.errors import Forbidden, Invalid, Unavailable
from andon.store.db import Database
from tests.audit.chains import execute, grow, scalar
from tests.cli.conftest import ANDON, Run
from tests.conftest import as_principal
from tests.server import free_port

EDITED = 4


@pytest.fixture
def n(admin: Context, clock: FrozenClock) -> int:
    """A chain of the bootstrap entries plus seven service changes."""
    return grow(admin, clock, 7)


@pytest.fixture
def anchored(admin: Context, n: int, tmp_path: Path) -> Path:
    """An anchor file holding one anchor of the whole chain (entry ``n``)."""
    path = tmp_path / "outside" / "anchors.jsonl"
    made = audit.anchor(admin, out=path)
    assert (made.seq, made.keyed_from) == (n, 1)
    return path


def _ts(value: datetime | str) -> datetime:
    ts = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _rechain(db: Database, start: int, *, unkey: bool = False) -> None:
    """Recompute every hash from ``start`` on with plain SHA-256 (all one has without the key),
    relink each entry to its predecessor and move the head to match: a self-consistent log."""
    with db.write_engine.begin() as conn:
        prev = conn.execute(
            text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": start - 1}
        ).scalar() or (GENESIS)
        rows = conn.execute(
            text(
                "SELECT seq, id, ts, actor, action, object_id, reason, change_digest "
                "FROM audit_log WHERE seq >= :s ORDER BY seq"
            ),
            {"s": start},
        ).all()
        for row in rows:
            own = entry_hash(
                seq=row.seq,
                id=row.id,
                ts=_ts(row.ts),
                actor=row.actor,
                action=row.action,
                object_id=row.object_id,
                reason=row.reason,
                change_digest=row.change_digest,
                prev_hash=prev,
            )
            conn.execute(
                text(
                    "UPDATE audit_log SET prev_hash = :p, hash = :h"
                    + (", key_id = NULL" if unkey else "")
                    + " WHERE seq = :s"
                ),
                {"p": prev, "h": own, "s": row.seq},
            )
            prev = own
        last = rows[-1].seq
        conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": last, "h": prev})


def _hash_at(db: Database, seq: int) -> str:
    return str(scalar(db, "SELECT hash FROM audit_log WHERE seq = :s", s=seq))


# --- (a) the tail cut, the head moved to match ---------------------------------------------


def test_a_cut_tail_with_the_head_moved_is_caught_by_the_anchor(
    admin: Context, n: int, anchored: Path
) -> None:
    keep = n - 3
    execute(admin.db, "DELETE FROM audit_log WHERE seq > :k", k=keep)
    execute(
        admin.db, "UPDATE audit_head SET seq = :k, hash = :h", k=keep, h=_hash_at(admin.db, keep)
    )
    # The database alone is self-consistent: this is what the probe saw.
    assert audit.verify(admin).ok
    result = audit.verify(admin, anchor_file=anchored)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, keep + 1, keep)
    assert f"names entry {n}" in (result.problem or "")
    assert "deleted" in (result.problem or "")


# --- (b) everything deleted, the head reset ------------------------------------------------


def test_deleting_everything_and_resetting_the_head_is_caught_by_the_anchor(
    admin: Context, n: int, anchored: Path
) -> None:
    execute(admin.db, "DELETE FROM audit_log")
    execute(admin.db, "UPDATE audit_head SET seq = 0, hash = :g", g=GENESIS)
    assert audit.verify(admin).as_dict()["checked"] == 0  # "intact: 0 entries" without anchor
    result = audit.verify(admin, anchor_file=anchored)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 1, 0)
    assert "missing" in (result.problem or "")


# --- (c) a row edited, every later hash recomputed -----------------------------------------


def test_an_edit_with_every_later_hash_recomputed_fails_at_the_edited_row(
    admin: Context, n: int, anchored: Path
) -> None:
    execute(admin.db, "UPDATE audit_log SET reason = 'nothing happened' WHERE seq = :s", s=EDITED)
    _rechain(admin.db, EDITED)
    for result in (audit.verify(admin), audit.verify(admin, anchor_file=anchored)):
        assert (result.ok, result.first_bad_seq, result.checked) == (False, EDITED, EDITED - 1)
        assert "HMAC" in (result.problem or "")


def test_passing_rehashed_entries_off_as_legacy_is_caught_by_the_anchor(
    admin: Context, n: int, anchored: Path
) -> None:
    """The downgrade: every entry re-hashed unkeyed, key ids dropped, the switch point moved
    past the end. The database alone must admit it (verify counts them as legacy); the anchor,
    which signed the switch point, refuses it."""
    execute(admin.db, "UPDATE audit_log SET reason = 'nothing happened' WHERE seq = :s", s=EDITED)
    _rechain(admin.db, 1, unkey=True)
    execute(admin.db, "UPDATE audit_head SET keyed_from = :k", k=n + 1)
    alone = audit.verify(admin)
    assert (alone.ok, alone.legacy) == (True, n)
    result = audit.verify(admin, anchor_file=anchored)
    assert (result.ok, result.first_bad_seq) == (False, 1)
    assert "switch to keyed hashes" in (result.problem or "")


def test_unkeyed_entries_after_the_switch_point_are_refused(admin: Context, n: int) -> None:
    _rechain(admin.db, EDITED, unkey=True)
    result = audit.verify(admin)
    assert (result.ok, result.first_bad_seq) == (False, EDITED)
    assert "no key id" in (result.problem or "")


# --- what the anchors catch besides, and what they let through -------------------------------


def test_every_anchor_is_checked_and_the_lowest_contradiction_is_named(
    admin: Context, clock: FrozenClock, n: int, anchored: Path
) -> None:
    grow(admin, clock, 3, prefix="later")
    audit.anchor(admin, out=anchored)
    assert audit.verify(admin, anchor_file=anchored).as_dict() == {
        "ok": True,
        "checked": n + 3,
        "first_bad_seq": None,
        "first_bad_id": None,
        "problem": None,
        "legacy": 0,
        "anchors": 2,
        "bad_anchor": None,
    }
    # The tail rewritten by someone holding the key is still caught: its hash changed.
    execute(admin.db, "UPDATE audit_log SET reason = 'edited' WHERE seq = :s", s=n)
    _rehash_keyed(admin, n)
    result = audit.verify(admin, anchor_file=anchored)
    assert (result.ok, result.first_bad_seq) == (False, n)
    assert "rewritten at or before" in (result.problem or "")


def _rehash_keyed(admin: Context, start: int) -> None:
    """Re-hash from ``start`` with the real key, as an insider holding it would."""
    key = keys.load_key(admin.settings)
    with admin.db.write_engine.begin() as conn:
        prev = conn.execute(
            text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": start - 1}
        ).scalar()
        rows = conn.execute(
            text("SELECT * FROM audit_log WHERE seq >= :s ORDER BY seq"), {"s": start}
        ).all()
        for row in rows:
            own = entry_hash(
                seq=row.seq,
                id=row.id,
                ts=_ts(row.ts),
                actor=row.actor,
                action=row.action,
                object_id=row.object_id,
                reason=row.reason,
                change_digest=row.change_digest,
                prev_hash=prev,
                key=key,
            )
            conn.execute(
                text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": own, "s": row.seq},
            )
            prev = own
        conn.execute(
            text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": rows[-1].seq, "h": prev}
        )


def test_a_forged_anchor_is_reported_with_its_line(admin: Context, n: int, anchored: Path) -> None:
    good = anchored.read_text()
    doc = json.loads(good)
    doc["seq"] = n - 2  # claim the chain was shorter, keeping the old signature
    anchored.write_text(good + json.dumps(doc) + "\n")
    result = audit.verify(admin, anchor_file=anchored)
    assert (result.ok, result.first_bad_seq, result.bad_anchor) == (False, None, 2)
    assert "signature does not match" in (result.problem or "")

    other = anchors.sign(
        keys.AuditKey(b"an attacker's own key, 32 bytes long"),
        seq=0,
        hash=GENESIS,
        keyed_from=1,
        at="2026-11-23T08:00:00+00:00",
    )
    anchored.write_text(good + other.line() + "\n")
    result = audit.verify(admin, anchor_file=anchored)
    assert (result.ok, result.bad_anchor) == (False, 2)
    assert "another audit key" in (result.problem or "")

    anchored.write_text(good + "{not json\n")
    result = audit.verify(admin, anchor_file=anchored)
    assert (result.ok, result.bad_anchor) == (False, 2)
    assert "not an anchor" in (result.problem or "")


def test_appends_after_the_anchor_verify_and_a_missing_anchor_file_is_invalid(
    admin: Context, clock: FrozenClock, n: int, anchored: Path, tmp_path: Path
) -> None:
    grow(admin, clock, 2, prefix="after")
    assert audit.verify(admin, anchor_file=anchored).ok
    with pytest.raises(Invalid) as missing:
        audit.verify(admin, anchor_file=tmp_path / "nowhere.jsonl")
    assert missing.value.field == "anchor_file"


# --- the key: outside the database, required, never shown -----------------------------------


def test_a_missing_key_stops_verify_and_anchor_with_a_hint(
    admin: Context, n: int, settings: Settings
) -> None:
    settings.resolved_audit_key_file.unlink()
    for call in (audit.verify, audit.anchor):
        with pytest.raises(Invalid) as info:
            call(admin)
        assert info.value.field == "audit_key"
        assert "ANDON_AUDIT_KEY" in info.value.details["hint"]


def test_the_wrong_key_is_reported_at_the_first_keyed_entry(
    admin: Context, n: int, settings: Settings
) -> None:
    wrong = Context(
        db=admin.db,
        settings=settings.model_copy(update={"audit_key": SecretStr("x" * 40)}),
        principal=admin.principal,
        grants=admin.grants,
        clock=admin.clock,
    )
    result = audit.verify(wrong)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 1, 0)
    assert "another audit key" in (result.problem or "")
    assert "x" * 40 not in (result.problem or "")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_key_file_is_private_and_the_variable_wins(settings: Settings, admin: Context) -> None:
    path = settings.resolved_audit_key_file
    assert path.stat().st_mode & 0o777 == 0o600
    from_file = keys.load_key(settings)
    env = Settings(home=settings.home, audit_key="y" * 40)  # type: ignore[arg-type]
    assert keys.load_key(env).id != from_file.id
    assert "y" * 40 not in repr(keys.load_key(env)) + repr(env)
    path.chmod(0o644)
    with pytest.raises(Invalid, match="readable by others") as loose:
        keys.load_key(settings)
    assert loose.value.details["hint"] == f"chmod 600 {path}"
    with pytest.raises(Invalid, match="shorter than 32"):
        keys.load_key(Settings(home=settings.home, audit_key="short"))  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_anchoring_needs_audit_anchor_and_writes_no_entry(admin: Context, n: int) -> None:
    from andon.auth import service as auth

    auth.create_principal(admin, "vera", reason="a viewer")
    auth.bind_role(admin, "vera", "viewer", reason="reads only")
    before = scalar(admin.db, "SELECT seq FROM audit_head")
    with pytest.raises(Forbidden):
        audit.anchor(as_principal(admin, "vera"))
    first = audit.anchor(admin)
    assert audit.anchor_if_moved(admin, first) is None
    assert scalar(admin.db, "SELECT seq FROM audit_head") == before == first.seq


# --- the URL target over real loopback HTTP -------------------------------------------------


class _Collector(BaseHTTPRequestHandler):
    bodies: list[bytes]
    status = 204

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append(body)
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def collector() -> Iterator[tuple[str, type[_Collector]]]:
    """A real HTTP server on 127.0.0.1 that keeps every body POSTed to it."""
    handler = type("Collector", (_Collector,), {"bodies": [], "status": 204})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/anchors", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_url_target_gets_the_signed_anchor_over_http(
    admin: Context, n: int, collector: tuple[str, type[_Collector]], tmp_path: Path
) -> None:
    url, handler = collector
    made = audit.anchor(admin, url=url)
    [body] = handler.bodies
    got = anchors.parse(body.decode())
    assert got == made and got.seq == n
    assert keys.load_key(admin.settings).matches(got.signed_text(), got.sig)
    (tmp_path / "received.jsonl").write_bytes(body + b"\n")
    assert audit.verify(admin, anchor_file=tmp_path / "received.jsonl").anchors == 1

    handler.status = 500
    with pytest.raises(Unavailable, match="answered 500"):
        audit.anchor(admin, url=url)
    with pytest.raises(Invalid):
        audit.anchor(admin, url="file:///etc/passwd")


# --- the CLI, and `andon serve` anchoring by itself ------------------------------------------


def test_cli_anchor_and_verify_exit_codes(
    run: Run, andon_env: dict[str, str], tmp_path: Path
) -> None:
    init = run("init")
    assert init.returncode == 0, init.stderr
    secret = (Path(andon_env["ANDON_HOME"]) / "audit.key").read_text().strip()
    assert "audit key" in init.stdout
    assert run("principal", "create", "alice").returncode == 0
    line = run("audit", "anchor")
    assert line.returncode == 0, line.stderr
    assert anchors.parse(line.stdout.strip()).seq >= 2
    out = tmp_path / "anchors.jsonl"
    assert run("audit", "anchor", "--out", str(out)).returncode == 0
    ok = run("audit", "verify", "--anchor", str(out), "--format", "json")
    assert (ok.returncode, json.loads(ok.stdout)["anchors"]) == (0, 1), ok.stderr

    db = Database(f"sqlite:///{Path(andon_env['ANDON_HOME']) / 'andon.db'}")
    execute(db, "DELETE FROM audit_log")
    execute(db, "UPDATE audit_head SET seq = 0, hash = :g", g=GENESIS)
    db.dispose()
    assert run("audit", "verify").returncode == 0  # the database alone cannot tell
    bad = run("audit", "verify", "--anchor", str(out))
    assert bad.returncode == 4
    assert "broken at entry 1" in bad.stdout

    (Path(andon_env["ANDON_HOME"]) / "audit.key").unlink()
    missing = run("audit", "verify")
    assert missing.returncode == 2
    assert "audit_key" in missing.stderr and "ANDON_AUDIT_KEY" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    for proc in (init, line, ok, bad, missing):
        assert secret not in proc.stdout + proc.stderr


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_serve_anchors_at_its_interval_only_when_the_head_moved(
    run: Run, andon_env: dict[str, str], collector: tuple[str, type[_Collector]]
) -> None:
    url, handler = collector
    assert run("init").returncode == 0
    home = Path(andon_env["ANDON_HOME"])
    path = home / "audit-anchors.jsonl"
    env = {**andon_env, "ANDON_AUDIT_ANCHOR_INTERVAL": "0.2", "ANDON_AUDIT_ANCHOR_URL": url}
    port = free_port()
    proc = subprocess.Popen(
        [ANDON, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: len(_lines(path)) == 1)
        first = anchors.parse(_lines(path)[0])
        time.sleep(1.0)  # five intervals with the head at rest: nothing more is written
        assert len(_lines(path)) == 1
        assert run("principal", "create", "bea").returncode == 0
        _wait_for(lambda: len(_lines(path)) == 2)
        second = anchors.parse(_lines(path)[1])
        assert second.seq == first.seq + 1
        _wait_for(lambda: len(handler.bodies) == 2)
        assert [anchors.parse(b.decode()) for b in handler.bodies] == [first, second]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    verified = run("audit", "verify", "--anchor", str(path), "--format", "json")
    assert (verified.returncode, json.loads(verified.stdout)["anchors"]) == (0, 2)
    assert os.stat(home / "audit.key").st_mode & 0o777 == 0o600


# --- upgrading a chain written before the key -----------------------------------------------

LEGACY = 3


def _legacy_database(db_url: str) -> Database:
    """A database migrated to the revision before 0010, holding a legacy (unkeyed) chain."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from andon.store import migrate

    db = Database(db_url)
    config = Config()
    config.set_main_option("script_location", str(Path(migrate.__file__).with_name("migrations")))
    before = ScriptDirectory.from_config(config).get_revision("0010").down_revision
    assert isinstance(before, str)
    with db.write_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, before)
    prev, at = GENESIS, datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    for seq in range(1, LEGACY + 1):
        digest = sha256_text("{}")
        own = entry_hash(
            seq=seq,
            id=f"au_legacy{seq}",
            ts=at,
            actor="admin",
            action="principal.create",
            object_id=f"pr_{seq}",
            reason="before the key",
            change_digest=digest,
            prev_hash=prev,
        )
        change = "CAST('{}' AS json)" if db.dialect == "postgresql" else "'{}'"
        execute(
            db,
            "INSERT INTO audit_log (seq, id, ts, actor, action, object_id, reason, change, "
            f"change_digest, prev_hash, hash) VALUES (:s, :i, :t, 'admin', 'principal.create', "
            f":o, 'before the key', {change}, :d, :p, :h)",
            s=seq,
            i=f"au_legacy{seq}",
            t=at if db.dialect == "postgresql" else at.replace(tzinfo=None).isoformat(" "),
            o=f"pr_{seq}",
            d=digest,
            p=prev,
            h=own,
        )
        prev = own
    execute(db, "UPDATE audit_head SET seq = :s, hash = :h", s=LEGACY, h=prev)
    return db


def test_an_upgraded_chain_keeps_its_legacy_prefix_and_keys_what_follows(
    db_url: str, settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    from andon.auth import service as auth
    from andon.store import migrate

    db = _legacy_database(db_url)
    try:
        migrate.upgrade(db)
        assert scalar(db, "SELECT keyed_from FROM audit_head") == LEGACY + 1
        auth.bootstrap(db, settings, "admin", clock=clock)
        admin = auth.context_for(db, settings, "admin", clock=clock)
        n = grow(admin, clock, 2)
        assert scalar(db, "SELECT COUNT(*) FROM audit_log WHERE key_id IS NULL") == LEGACY
        result = audit.verify(admin)
        assert (result.ok, result.checked, result.legacy) == (True, n, LEGACY), result
        path = tmp_path / "anchors.jsonl"
        assert audit.anchor(admin, out=path).keyed_from == LEGACY + 1
        assert audit.verify(admin, anchor_file=path).ok

        # The legacy prefix is recomputable by anyone, but the first keyed entry seals it:
        # its HMAC covers the link to the last legacy entry.
        execute(db, "UPDATE audit_log SET reason = 'rewritten' WHERE seq = 2")
        _rechain(db, 2)
        execute(db, "UPDATE audit_head SET seq = :n, hash = :h", n=n, h=_hash_at(db, n))
        result = audit.verify(admin)
        assert (result.ok, result.first_bad_seq) == (False, LEGACY + 1)
    finally:
        db.dispose()
