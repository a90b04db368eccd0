"""Endpoints through the service: versions, ownership, permissions, audit; the gateway's
snapshot: which cord stops which endpoint, what a model endpoint serves, the change counter."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from andon.audit import service as audit
from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound
from andon.policy import cord
from andon.registry import service as registry
from andon.serve import service as serve
from andon.serve.queries import change_seq, load_snapshot
from tests.conftest import as_principal


def llm(name: str = "support-bot", team: str = "support", *, retries: int = 2) -> str:
    return (
        f"name: {name}\nteam: {team}\nkind: llm\nretries: {retries}\n"
        "upstreams: [{url: 'http://127.0.0.1:8001/v1', api_key_env: SUPPORT_KEY}]\n"
    )


def scorer(team: str = "fraud-ml") -> str:
    return f"name: fraud-scorer\nteam: {team}\nkind: model\nmodel: fraud\nalias: champion\n"


@pytest.fixture
def people(admin: Context) -> dict[str, Context]:
    """Teams support and fraud-ml; ada contributes to support, ravi reads it, cal calls it."""
    for team in ("support", "fraud-ml"):
        auth.create_team(admin, team)
    roles = {"ada": "contributor", "ravi": "viewer", "cal": "caller", "rose": "risk-owner"}
    for name, role in roles.items():
        auth.create_principal(admin, name)
        auth.bind_role(admin, name, role, scope="team", target="support")
    return {name: as_principal(admin, name) for name in roles}


def test_each_changed_apply_is_a_new_audited_version(
    admin: Context, people: dict[str, Context]
) -> None:
    first = serve.apply_endpoint(people["ada"], llm(), reason="first cut")
    assert (first.version, first.changed, first.kind, first.team) == (1, True, "llm", "support")
    same = serve.apply_endpoint(people["ada"], llm())
    assert (same.version, same.changed, same.id) == (1, False, first.id)
    second = serve.apply_endpoint(people["ada"], llm(retries=0))
    assert (second.version, second.spec["retries"]) == (2, 0)
    assert serve.get_endpoint(people["ravi"], "support-bot").version == 2
    entries = [e for e in audit.list_entries(admin) if e.action == "endpoint.apply"]
    assert [e.change["version"] for e in entries] == [2, 1]
    assert entries[1].reason == "first cut" and entries[0].change["spec"]["retries"] == 0
    assets = [a for a in auth.list_assets(admin, "support") if a.kind == "endpoint"]
    assert [a.name for a in assets] == ["support-bot"]


def test_ownership_kind_and_permissions(admin: Context, people: dict[str, Context]) -> None:
    serve.apply_endpoint(people["ada"], llm())
    with pytest.raises(Conflict, match="belongs to team 'support'"):
        serve.apply_endpoint(admin, llm(team="fraud-ml"))
    with pytest.raises(Conflict, match="is a llm endpoint"):
        serve.apply_endpoint(
            people["ada"], "name: support-bot\nteam: support\nkind: model\nmodel: fraud\n"
        )
    for who in ("ravi", "cal", "rose"):
        with pytest.raises(Forbidden, match=r"endpoint\.apply"):
            serve.apply_endpoint(people[who], llm(retries=1))
    with pytest.raises(Forbidden):  # a team binding on support does not reach fraud-ml
        serve.apply_endpoint(people["ada"], scorer())
    with pytest.raises(NotFound, match="no endpoint 'nope'"):
        serve.get_endpoint(people["ravi"], "nope")
    with pytest.raises(Invalid, match="retries: must be a whole number"):
        serve.apply_endpoint(people["ada"], llm(retries=99))
    serve.apply_endpoint(admin, scorer())
    assert [e.name for e in serve.list_endpoints(people["cal"])] == ["support-bot"]
    assert [e.name for e in serve.list_endpoints(admin)] == ["fraud-scorer", "support-bot"]
    assert [e.name for e in serve.list_endpoints(admin, "fraud-ml")] == ["fraud-scorer"]


def test_an_endpoint_cord(admin: Context, people: dict[str, Context]) -> None:
    serve.apply_endpoint(people["ada"], llm())
    pulled = serve.pull_endpoint_cord(people["ada"], "support-bot", reason="rude answers")
    assert (pulled.scope, pulled.target, pulled.team, pulled.pulled) == (
        "endpoint",
        "support-bot",
        "support",
        True,
    )
    with pytest.raises(Conflict, match="already pulled"):
        serve.pull_endpoint_cord(people["ada"], "support-bot", reason="again")
    with pytest.raises(Forbidden, match=r"cord\.release"):
        serve.release_endpoint_cord(people["ada"], "support-bot", reason="looks fine")
    with pytest.raises(Invalid, match="say why"):
        serve.release_endpoint_cord(people["rose"], "support-bot", reason=" ")
    serve.release_endpoint_cord(people["rose"], "support-bot", reason="prompt fixed")
    assert [(c.target, c.pulled) for c in serve.endpoint_cords(people["ravi"])] == [
        ("support-bot", False)
    ]
    actions = [e.action for e in audit.list_entries(admin) if e.action.startswith("cord.")]
    assert actions == ["cord.release", "cord.pull"]


def _artifact(text: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="andon-serve-")) / "model.bin"
    path.write_text(text)
    return path


def test_the_snapshot_says_what_stops_and_what_serves(
    admin: Context, people: dict[str, Context]
) -> None:
    db = admin.db
    serve.apply_endpoint(people["ada"], llm())
    serve.apply_endpoint(admin, scorer())
    snap = load_snapshot(db)
    assert snap.seq == change_seq(db)
    assert set(snap.endpoints) == {"support-bot", "fraud-scorer"}
    assert snap.stops == {} and snap.bindings == {}, "no model registered yet"
    assert snap.team_ids["support"] and snap.asset_ids["support-bot"]

    registry.register_model(admin, "fraud", team="fraud-ml", artifact=_artifact("v1"))
    registry.register_model(admin, "fraud", team="fraud-ml", artifact=_artifact("v2"))
    registry.set_alias(admin, "fraud@1", "champion")
    snap = load_snapshot(db)
    bound = snap.bindings["fraud-scorer"]
    assert (bound.model, bound.alias, bound.version) == ("fraud", "champion", 1)
    registry.set_alias(admin, "fraud@2", "champion")
    moved = load_snapshot(db)
    assert moved.seq > snap.seq and moved.bindings["fraud-scorer"].version == 2

    cord.pull_cord(admin, "fraud", reason="drift")
    stops = load_snapshot(db).stops
    assert set(stops) == {"fraud-scorer"} and stops["fraud-scorer"].scope == "model"
    assert stops["fraud-scorer"].message().startswith("model 'fraud' is stopped by admin at ")
    cord.pull_line_cord(admin, "support", reason="outage")
    stops = load_snapshot(db).stops
    assert (stops["support-bot"].scope, stops["support-bot"].reason) == ("team", "outage")
    serve.pull_endpoint_cord(admin, "support-bot", reason="its own")
    assert load_snapshot(db).stops["support-bot"].scope == "endpoint", "the narrowest cord first"
    cord.pull_line_cord(admin, None, reason="incident 7")
    cord.release_cord(admin, "fraud", reason="explained")
    stops = load_snapshot(db).stops
    assert stops["fraud-scorer"].scope == "all"
    assert stops["fraud-scorer"].message().startswith("every endpoint is stopped by admin")
