"""An audit entry and its outbox event commit with the change they describe, or not at all."""

from __future__ import annotations

import pytest

from andon.audit import chain, keys
from andon.audit.chain import record_change
from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import NotFound
from andon.store import outbox
from tests.audit.chains import scalar


def _counts(ctx: Context) -> tuple[int, int, int, int]:
    db = ctx.db
    return (
        scalar(db, "SELECT COUNT(*) FROM audit_log"),
        scalar(db, "SELECT seq FROM audit_head"),
        scalar(db, "SELECT COUNT(*) FROM outbox"),
        scalar(db, "SELECT COUNT(*) FROM principals"),
    )


def test_a_failure_after_record_change_leaves_no_entry_and_no_event(admin: Context) -> None:
    before = _counts(admin)

    def audited_then_failed() -> None:
        with admin.db.transaction() as session:
            entry = record_change(
                session,
                admin,
                action="thing.change",
                object_id="th_1",
                change={"colour": "red"},
                reason="testing rollback",
                event="thing.changed",
            )
            assert entry.seq == before[1] + 1
            session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        audited_then_failed()
    assert _counts(admin) == before
    # The head was released and not moved: the next append takes the same number.
    with admin.db.transaction() as session:
        again = record_change(session, admin, action="thing.change", object_id="th_1", change={})
    assert again.seq == before[1] + 1
    with admin.db.read() as session:
        assert chain.verify(session, keys.load_key(admin.settings)) == chain.Verification(
            True, before[0] + 1
        )


def test_a_service_failing_after_the_audit_append_rolls_everything_back(
    admin: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _counts(admin)

    def broken_emit(*args: object, **kwargs: object) -> str:
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(outbox, "emit", broken_emit)
    with pytest.raises(RuntimeError, match="outbox unavailable"):
        auth.create_principal(admin, "carol")
    assert _counts(admin) == before
    monkeypatch.undo()
    with pytest.raises(NotFound):
        auth.disable_principal(admin, "carol")
    auth.create_principal(admin, "carol")
    assert _counts(admin)[:2] == (before[0] + 1, before[1] + 1)
    with admin.db.read() as session:
        assert chain.verify(session, keys.load_key(admin.settings)).ok
