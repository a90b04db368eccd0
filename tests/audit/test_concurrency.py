"""Eight concurrent writers, as threads or as processes, still build one valid chain."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from andon.audit import chain
from andon.auth import service as auth
from andon.core.config import Settings
from andon.core.context import Context
from andon.store.db import Database
from tests.audit.chains import key, scalar

WRITERS = 8
CHANGES = 25


def _write(ctx: Context, worker: int) -> None:
    for i in range(CHANGES):
        auth.create_principal(ctx, f"w{worker}-{i}", reason=f"writer {worker}")


def _process(url: str, home: str, worker: int, start: threading.Barrier) -> None:
    """One writer process: its own settings, database engine and context."""
    settings = Settings(home=Path(home), database_url=url)
    db = Database.from_settings(settings)
    try:
        ctx = auth.context_for(db, settings, "admin")
        start.wait(timeout=120)
        _write(ctx, worker)
    finally:
        db.dispose()


def _assert_one_chain(db: Database, before: int) -> None:
    total = before + WRITERS * CHANGES
    with db.read() as session:
        assert chain.verify(session, key()) == chain.Verification(ok=True, checked=total)
    assert scalar(db, "SELECT MIN(seq) FROM audit_log") == 1
    assert scalar(db, "SELECT MAX(seq) FROM audit_log") == total
    assert scalar(db, "SELECT COUNT(DISTINCT seq) FROM audit_log") == total
    assert scalar(db, "SELECT seq FROM audit_head") == total
    created = "SELECT COUNT(*) FROM {} WHERE {} LIKE 'w%'"
    assert scalar(db, created.format("principals", "name")) == WRITERS * CHANGES
    assert scalar(db, "SELECT COUNT(*) FROM audit_log WHERE reason LIKE 'writer %'") == (
        WRITERS * CHANGES
    )
    # Each audited creation wrote its outbox event in the same transaction.
    assert scalar(db, "SELECT COUNT(*) FROM outbox WHERE type = 'principal.created'") == scalar(
        db,
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('principal.create', 'principal.bootstrap')",
    )


def _length(db: Database) -> int:
    return int(scalar(db, "SELECT COUNT(*) FROM audit_log"))


def test_eight_threads_build_one_chain(admin: Context) -> None:
    before = _length(admin.db)
    start = threading.Barrier(WRITERS + 1)
    errors: list[BaseException] = []
    verdicts: list[chain.Verification] = []
    done = threading.Event()

    def writer(worker: int) -> None:
        try:
            start.wait(timeout=60)
            _write(admin, worker)
        except BaseException as exc:
            errors.append(exc)

    def verifier() -> None:
        # Verify while the writers append: a growing chain is never mistaken for a broken one.
        start.wait(timeout=60)
        while not done.is_set():
            with admin.db.read() as session:
                verdicts.append(chain.verify(session, key()))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    checker = threading.Thread(target=verifier)
    for thread in [*threads, checker]:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    done.set()
    checker.join(timeout=60)
    assert errors == []
    assert verdicts
    assert all(v.ok for v in verdicts), [v for v in verdicts if not v.ok][:1]
    _assert_one_chain(admin.db, before)


def test_eight_processes_build_one_chain(admin: Context, settings: Settings) -> None:
    before = _length(admin.db)
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(WRITERS)
    url = settings.resolved_database_url
    procs = [
        spawn.Process(target=_process, args=(url, str(settings.home), w, start))
        for w in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    _assert_one_chain(admin.db, before)
