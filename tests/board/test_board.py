"""The andon board turns the state of the line into green, amber and red."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from andon import demo
from andon.auth import service as auth
from andon.board.service import board, worst
from andon.core.context import Context
from andon.core.errors import Forbidden
from tests.conftest import as_principal


def _lights(ctx: Context) -> dict[str, str]:
    return {light.area: light.color for light in board(ctx)}


def test_fresh_install_is_amber_until_teams_are_on_call(admin: Context) -> None:
    lights = _lights(admin)
    assert lights["metadata store"] == "green"
    assert lights["audit chain"] == "green"
    assert lights["teams & on-call"] == "amber"
    assert worst(board(admin)) == "amber"
    auth.create_team(admin, "fraud-ml")
    assert _lights(admin)["teams & on-call"] == "amber"
    auth.set_rotation(admin, "fraud-ml", "primary", ["admin"], starts_on="2026-11-02")
    assert _lights(admin)["teams & on-call"] == "green"


def test_demo_line_is_green_and_idempotent(admin: Context) -> None:
    made = demo.seed(admin)
    assert "team fraud-ml" in made
    assert demo.seed(admin) == []
    lights = _lights(admin)
    # Data quality stays amber until a contract is applied ("no contracts yet").
    assert lights.pop("data quality") == "amber"
    assert set(lights.values()) == {"green"}
    assert auth.oncall(admin, "fraud-ml").principal in {"alice", "bruno"}


def test_tampering_turns_the_audit_light_red(admin: Context) -> None:
    auth.create_team(admin, "fraud-ml")
    with admin.db.write_engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))
    lights = {light.area: light for light in board(admin)}
    assert lights["audit chain"].color == "red"
    assert "entry 1" in lights["audit chain"].detail
    assert worst(list(lights.values())) == "red"


def test_reading_the_board_needs_a_role(admin: Context) -> None:
    auth.create_principal(admin, "nobody")
    with pytest.raises(Forbidden):
        board(as_principal(admin, "nobody"))
    auth.bind_role(admin, "nobody", "viewer")
    assert _lights(as_principal(admin, "nobody"))["metadata store"] == "green"
