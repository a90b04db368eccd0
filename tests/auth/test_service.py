"""Identity services: principals, teams, assets, role bindings, tokens, and their audit trail."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from andon.audit import chain
from andon.audit import service as audit_service
from andon.auth import queries, tokens
from andon.auth import service as auth
from andon.core.clock import FrozenClock
from andon.core.context import Context
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from andon.core.permissions import PERMISSIONS, ROLES, TEAM_OWNER, Grant
from andon.data import roots
from andon.data import service as data
from andon.registry import service as registry
from andon.store import outbox
from andon.store.tables import audit as t
from andon.store.tables import auth as auth_tables
from andon.store.tables import base as base_tables
from andon.store.tables import events as events_tables
from tests.auth.test_permission_matrix import OPERATIONS, Scenario, World
from tests.conftest import as_principal
from tests.data.conftest import tiny_contract

# --------------------------------------------------------------------------- helpers


def count(ctx: Context, table: type[base_tables.Base]) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def dump(ctx: Context) -> str:
    """Every row of every table as text."""
    with ctx.db.read() as session:
        return "\n".join(
            repr(tuple(row))
            for table in base_tables.Base.metadata.sorted_tables
            for row in session.execute(select(table))
        )


@dataclass
class Trail:
    """Audit entries and outbox events written since it was started."""

    ctx: Context
    audit_from: int = 0
    events_from: int = 0

    def __post_init__(self) -> None:
        with self.ctx.db.read() as session:
            self.audit_from = session.scalar(select(func.max(t.AuditEntry.seq))) or 0
            self.events_from = session.scalar(select(func.max(events_tables.OutboxEvent.seq))) or 0

    def audit(self) -> list[t.AuditEntry]:
        with self.ctx.db.read() as session:
            rows = session.scalars(
                select(t.AuditEntry)
                .where(t.AuditEntry.seq > self.audit_from)
                .order_by(t.AuditEntry.seq)
            ).all()
            session.expunge_all()
            return list(rows)

    def events(self) -> list[events_tables.OutboxEvent]:
        with self.ctx.db.read() as session:
            rows = session.scalars(
                select(events_tables.OutboxEvent)
                .where(events_tables.OutboxEvent.seq > self.events_from)
                .order_by(events_tables.OutboxEvent.seq)
            ).all()
            session.expunge_all()
            return list(rows)

    def assert_empty(self) -> None:
        assert self.audit() == []
        assert self.events() == []


@pytest.fixture
def people(admin: Context) -> Context:
    """alice, bob and carol (users, no bindings); team fraud-ml owned by alice; a dataset."""
    for name in ("alice", "bob", "carol"):
        auth.create_principal(admin, name)
    auth.create_team(admin, "fraud-ml", owners=["alice"])
    auth.create_team(admin, "payments")
    auth.register_asset(admin, "dataset", "transactions", "fraud-ml")
    return admin


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_creates_one_global_admin_once(admin: Context) -> None:
    assert auth.bootstrap(admin.db, admin.settings, "someone-else", clock=admin.clock) is False
    assert [p.name for p in auth.list_principals(admin)] == ["admin"]
    assert admin.grants == (Grant("platform-admin", "global"),)
    with admin.db.read() as session:
        first = session.scalars(select(t.AuditEntry).order_by(t.AuditEntry.seq)).first()
        assert first is not None
        assert (first.actor, first.action) == ("system", "principal.bootstrap")
        assert session.scalars(select(events_tables.OutboxEvent.type)).all() == [
            "principal.created"
        ]


def test_no_principal_may_be_called_system(admin: Context) -> None:
    with pytest.raises(Invalid) as err:
        auth.create_principal(admin, "system", kind="service")
    assert err.value.field == "name"
    with pytest.raises(Invalid):
        auth.bootstrap(admin.db, admin.settings, "system")


# --------------------------------------------------------------------------- principals


def test_principals_of_every_kind(admin: Context) -> None:
    made = [
        auth.create_principal(admin, "alice", display_name="Alice M", email="alice@example.org"),
        auth.create_principal(admin, "etl-bot", kind="service"),
        auth.create_principal(admin, "ops-agent", kind="agent"),
    ]
    assert [(p.name, p.kind, p.disabled) for p in made] == [
        ("alice", "user", False),
        ("etl-bot", "service", False),
        ("ops-agent", "agent", False),
    ]
    assert (made[0].display_name, made[0].email) == ("Alice M", "alice@example.org")
    assert made[0].created_at == admin.clock.now()
    assert [p.name for p in auth.list_principals(admin)] == [
        "admin",
        "alice",
        "etl-bot",
        "ops-agent",
    ]
    assert made[0].as_dict()["created_at"] == admin.clock.now().isoformat()


def test_duplicate_principal_conflicts_and_writes_nothing(admin: Context) -> None:
    auth.create_principal(admin, "alice")
    trail = Trail(admin)
    with pytest.raises(Conflict):
        auth.create_principal(admin, "alice", kind="service")
    trail.assert_empty()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "Alice"}, "name"),
        ({"name": "-alice"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "al ice"}, "name"),
        ({"name": "alice!"}, "name"),
        ({"name": "a" * 101}, "name"),
        ({"name": "alice", "kind": "robot"}, "kind"),
        ({"name": "alice", "email": "not-an-address"}, "email"),
    ],
)
def test_bad_principal_input_is_invalid(admin: Context, kwargs: dict[str, Any], field: str) -> None:
    trail = Trail(admin)
    with pytest.raises(Invalid) as err:
        auth.create_principal(admin, **kwargs)
    assert err.value.field == field
    trail.assert_empty()


def test_disable_principal(people: Context) -> None:
    record = auth.disable_principal(people, "bob", reason="left the company")
    assert record.disabled
    with pytest.raises(Conflict):
        auth.disable_principal(people, "bob")
    with pytest.raises(NotFound):
        auth.disable_principal(people, "nobody")
    with pytest.raises(Unauthenticated):
        as_principal(people, "bob")


def test_the_last_global_admin_cannot_be_disabled_or_unbound(people: Context) -> None:
    trail = Trail(people)
    with pytest.raises(Conflict):
        auth.disable_principal(people, "admin")
    (own,) = auth.list_bindings(people, "admin")
    with pytest.raises(Conflict):
        auth.unbind_role(people, own.id)
    trail.assert_empty()
    # With a second global admin both become possible (but not for the last one standing).
    auth.bind_role(people, "bob", "platform-admin")
    bob = as_principal(people, "bob")
    auth.unbind_role(people, own.id)
    auth.disable_principal(bob, "admin")
    with pytest.raises(Conflict):
        auth.disable_principal(bob, "bob")
    # A disabled admin's binding does not count as an admin.
    (bobs,) = auth.list_bindings(bob, "bob")
    with pytest.raises(Conflict):
        auth.unbind_role(bob, bobs.id)


# --------------------------------------------------------------------------- teams


def test_team_with_owners_and_members(people: Context) -> None:
    team = auth.create_team(
        people, "risk", description="Model risk", owners=["carol", "bob", "carol"]
    )
    assert (team.name, team.description) == ("risk", "Model risk")
    assert team.owners == ["bob", "carol"]
    team = auth.add_member(people, "risk", "alice")
    assert [(m.name, m.owner) for m in team.members] == [
        ("alice", False),
        ("bob", True),
        ("carol", True),
    ]
    team = auth.add_member(people, "risk", "alice", owner=True)
    assert team.owners == ["alice", "bob", "carol"]
    team = auth.remove_member(people, "risk", "bob")
    assert [m.name for m in team.members] == ["alice", "carol"]
    assert auth.get_team(people, "risk") == team
    assert [t.name for t in auth.list_teams(people)] == ["fraud-ml", "payments", "risk"]


def test_team_errors_write_nothing(people: Context) -> None:
    trail = Trail(people)
    with pytest.raises(Conflict):
        auth.create_team(people, "fraud-ml")
    with pytest.raises(Invalid) as invalid:
        auth.create_team(people, "Fraud ML")
    assert invalid.value.field == "name"
    with pytest.raises(NotFound) as err:
        auth.create_team(people, "risk", owners=["alice", "ghost"])
    assert err.value.field == "principal"
    with pytest.raises(NotFound) as err:
        auth.remove_member(people, "fraud-ml", "carol")
    assert err.value.field == "principal"
    with pytest.raises(NotFound) as err:
        auth.add_member(people, "nope", "carol")
    assert err.value.field == "team"
    with pytest.raises(NotFound):
        auth.get_team(people, "risk")
    trail.assert_empty()


def test_a_team_owner_runs_their_team_without_a_binding(people: Context) -> None:
    alice = as_principal(people, "alice")
    assert alice.grants == (Grant(TEAM_OWNER, "team", auth.get_team(people, "fraud-ml").id),)
    assert auth.whoami(alice)["grants"] == [
        {"role": TEAM_OWNER, "scope": "team", "scope_id": alice.grants[0].scope_id}
    ]
    auth.add_member(alice, "fraud-ml", "bob")
    auth.add_member(alice, "fraud-ml", "bob", owner=True)  # a member may be made an owner
    auth.add_member(alice, "fraud-ml", "carol")
    auth.remove_member(alice, "fraud-ml", "carol")
    auth.set_rotation(alice, "fraud-ml", "primary", ["alice", "bob"], starts_on="2026-11-16")
    assert auth.oncall(alice, "fraud-ml").principal == "alice"
    assert [team.name for team in auth.list_teams(alice)] == ["fraud-ml"]
    trail = Trail(people)
    for denied in (
        lambda: auth.add_member(alice, "payments", "carol"),
        lambda: auth.set_escalation(alice, "fraud-ml", "risk-owner", principal="alice"),
        lambda: auth.bind_role(alice, "bob", "platform-admin", scope="team", target="fraud-ml"),
        lambda: auth.register_asset(alice, "model", "scorer", "fraud-ml"),
        lambda: auth.list_principals(alice),
    ):
        with pytest.raises(Forbidden):
            denied()
    trail.assert_empty()
    # Ownership is read when the context is made: once demoted, alice's next one cannot.
    auth.add_member(people, "fraud-ml", "alice", owner=False)
    with pytest.raises(Forbidden):
        auth.add_member(as_principal(people, "alice"), "fraud-ml", "carol")


# --------------------------------------------------------------------------- assets


def test_assets_belong_to_a_team(people: Context) -> None:
    again = auth.register_asset(people, "dataset", "transactions", "payments")
    model = auth.register_asset(people, "model", "transactions", "fraud-ml")
    assert (again.team, model.kind) == ("payments", "model")
    trail = Trail(people)
    with pytest.raises(Conflict):
        auth.register_asset(people, "dataset", "transactions", "fraud-ml")
    with pytest.raises(NotFound):
        auth.register_asset(people, "dataset", "x", "nope")
    for kind, name, field in (
        ("Data Set", "x", "kind"),
        ("dataset", "", "name"),
        ("dataset", "x" * 201, "name"),
    ):
        with pytest.raises(Invalid) as err:
            auth.register_asset(people, kind, name, "fraud-ml")
        assert err.value.field == field
    trail.assert_empty()
    assert [(a.team, a.kind, a.name) for a in auth.list_assets(people, "fraud-ml")] == [
        ("fraud-ml", "dataset", "transactions"),
        ("fraud-ml", "model", "transactions"),
    ]
    assert len(auth.list_assets(people)) == 3


# --------------------------------------------------------------------------- role bindings


def test_bindings_at_every_scope(people: Context) -> None:
    (asset,) = auth.list_assets(people, "fraud-ml")
    everywhere = auth.bind_role(people, "bob", "viewer")
    in_team = auth.bind_role(people, "bob", "contributor", scope="team", target="fraud-ml")
    on_asset = auth.bind_role(people, "bob", "data-steward", scope="asset", target=asset.id)
    assert [(b.scope, b.scope_name) for b in (everywhere, in_team, on_asset)] == [
        ("global", None),
        ("team", "fraud-ml"),
        ("asset", "dataset/transactions"),
    ]
    bob = as_principal(people, "bob")
    assert set(bob.grants) == {
        Grant("viewer", "global"),
        Grant("contributor", "team", in_team.scope_id),
        Grant("data-steward", "asset", asset.id),
    }
    assert bob.can("asset.register", team_id=in_team.scope_id)
    assert not bob.can("asset.register", team_id=auth.get_team(people, "payments").id)
    assert {b.id for b in auth.list_bindings(people, "bob")} == {
        everywhere.id,
        in_team.id,
        on_asset.id,
    }
    removed = auth.unbind_role(people, in_team.id)
    assert removed == in_team
    assert not as_principal(people, "bob").can("asset.register", team_id=in_team.scope_id)


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"role": "emperor"}, Invalid, "role"),
        ({"role": "team-owner", "scope": "team", "target": "fraud-ml"}, Invalid, "role"),
        ({"role": "viewer", "target": "fraud-ml"}, Invalid, "target"),
        ({"role": "viewer", "scope": "team"}, Invalid, "target"),
        ({"role": "viewer", "scope": "galaxy", "target": "x"}, Invalid, "scope"),
        ({"role": "viewer", "scope": "team", "target": "nope"}, NotFound, "team"),
        ({"role": "viewer", "scope": "asset", "target": "asset_nope"}, NotFound, "target"),
        ({"role": "viewer", "principal": "ghost"}, NotFound, "principal"),
    ],
)
def test_bad_bindings(
    people: Context, kwargs: dict[str, Any], error: type[Exception], field: str
) -> None:
    trail = Trail(people)
    with pytest.raises(error) as err:
        auth.bind_role(people, **{"principal": "bob", **kwargs})
    assert getattr(err.value, "field", None) == field
    trail.assert_empty()


def test_binding_conflicts_and_self_binding(people: Context) -> None:
    auth.bind_role(people, "bob", "viewer")
    trail = Trail(people)
    with pytest.raises(Conflict):
        auth.bind_role(people, "bob", "viewer")
    with pytest.raises(Forbidden):
        auth.bind_role(people, "admin", "approver")  # widening one's own access
    with pytest.raises(NotFound) as err:
        auth.unbind_role(people, "binding_nope")
    assert err.value.field == "binding"
    trail.assert_empty()


# --------------------------------------------------------------------------- tokens


def test_a_token_is_shown_once_and_stored_only_as_its_hash(people: Context) -> None:
    record, secret = auth.create_token(people, "bob", name="ci", expires_in_days=30)
    assert tokens.is_well_formed(secret)
    assert record.expires_at == people.clock.now() + timedelta(days=30)
    with people.db.read() as session:
        stored = session.execute(
            select(auth_tables.ApiToken.id, auth_tables.ApiToken.token_hash)
        ).all()
    assert [tuple(row) for row in stored] == [
        (record.id, hashlib.sha256(secret.encode()).hexdigest())
    ]
    assert secret not in dump(people)  # not in the token table, the audit log or the outbox
    assert secret[len(tokens.PREFIX) :] not in dump(people)
    listed = auth.list_tokens(people, "bob")
    assert listed == [record]
    assert "secret" not in record.as_dict() and secret not in repr(listed)
    ctx = auth.authenticate(people.db, people.settings, secret, clock=people.clock)
    assert (ctx.principal.name, ctx.grants) == ("bob", ())


def test_revoked_tokens_stop_working(people: Context) -> None:
    record, secret = auth.create_token(people, "bob")
    revoked = auth.revoke_token(people, record.id, reason="leaked")
    assert revoked.revoked_at == people.clock.now()
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.authenticate(people.db, people.settings, secret, clock=people.clock)
    with pytest.raises(Conflict):
        auth.revoke_token(people, record.id)
    with pytest.raises(NotFound):
        auth.revoke_token(people, "token_nope")


def test_tokens_expire(people: Context, clock: FrozenClock) -> None:
    _, secret = auth.create_token(people, "bob", expires_in_days=1)
    _, forever = auth.create_token(people, "bob")
    clock.advance(hours=23, minutes=59)
    assert (
        auth.authenticate(people.db, people.settings, secret, clock=clock).principal.name == "bob"
    )
    clock.advance(minutes=1)
    with pytest.raises(Unauthenticated, match="expired"):
        auth.authenticate(people.db, people.settings, secret, clock=clock)
    clock.advance(days=3650)
    assert (
        auth.authenticate(people.db, people.settings, forever, clock=clock).principal.name == "bob"
    )


def test_tokens_are_self_service_but_not_for_others(people: Context) -> None:
    bob = as_principal(people, "bob")  # no bindings at all
    record, secret = auth.create_token(bob, "bob", name="laptop")
    assert auth.list_tokens(bob) == [record]
    carols, _ = auth.create_token(people, "carol")
    trail = Trail(people)
    for denied in (
        lambda: auth.create_token(bob, "carol"),
        lambda: auth.create_token(bob, "ghost"),  # Forbidden, not NotFound: names don't leak
        lambda: auth.revoke_token(bob, carols.id),
        lambda: auth.list_tokens(bob, "carol"),
    ):
        with pytest.raises(Forbidden):
            denied()
    trail.assert_empty()
    auth.revoke_token(bob, record.id)
    with pytest.raises(Unauthenticated):
        auth.authenticate(people.db, people.settings, secret, clock=people.clock)


def test_a_disabled_principals_tokens_stop_working(people: Context) -> None:
    _, secret = auth.create_token(people, "bob")
    auth.bind_role(people, "bob", "viewer")
    assert auth.authenticate(people.db, people.settings, secret, clock=people.clock).grants
    auth.disable_principal(people, "bob")
    with pytest.raises(Unauthenticated, match="disabled"):
        auth.authenticate(people.db, people.settings, secret, clock=people.clock)
    with pytest.raises(Unauthenticated, match="disabled"):
        auth.context_for(people.db, people.settings, "bob")
    with pytest.raises(Conflict):
        auth.create_token(people, "bob")


@pytest.mark.parametrize(
    "bearer",
    [
        "",
        "andon_",
        "andon_short",
        "Bearer andon_" + "a" * 43,
        "andon_" + "a" * 42 + "é",
        "xandon_" + "a" * 43,
    ],
)
def test_malformed_tokens(admin: Context, bearer: str) -> None:
    with pytest.raises(Unauthenticated, match="malformed"):
        auth.authenticate(admin.db, admin.settings, bearer)


def test_unknown_token(admin: Context) -> None:
    with pytest.raises(Unauthenticated, match="unknown"):
        auth.authenticate(admin.db, admin.settings, tokens.generate())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": 3651}, "expires_in_days"),
        ({"name": "n" * 101}, "name"),
    ],
)
def test_bad_token_input(admin: Context, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as err:
        auth.create_token(admin, "admin", **kwargs)
    assert err.value.field == field


def test_unknown_context_principal(admin: Context) -> None:
    with pytest.raises(Unauthenticated) as err:
        auth.context_for(admin.db, admin.settings, "ghost")
    assert err.value.field == "ANDON_PRINCIPAL"


# --------------------------------------------------------------------------- the audit trail

Change = Callable[[Context], Any]


def _token_of(admin: Context, who: str) -> str:
    return auth.create_token(admin, who)[0].id


def _binding(admin: Context) -> str:
    return auth.bind_role(admin, "carol", "viewer", scope="team", target="payments").id


# (operation, arrange as admin -> the change to make, audit action, event type)
CHANGES: list[tuple[Callable[..., Any], Callable[[Context], Change], str, str]] = [
    (
        auth.create_principal,
        lambda a: lambda c: auth.create_principal(c, "dave"),
        "principal.create",
        "principal.created",
    ),
    (
        auth.disable_principal,
        lambda a: lambda c: auth.disable_principal(c, "carol"),
        "principal.disable",
        "principal.disabled",
    ),
    (
        auth.create_team,
        lambda a: lambda c: auth.create_team(c, "risk", owners=["bob"]),
        "team.create",
        "team.created",
    ),
    (
        auth.add_member,
        lambda a: lambda c: auth.add_member(c, "fraud-ml", "bob"),
        "team.member.add",
        "team.updated",
    ),
    (
        auth.remove_member,
        lambda a: lambda c: auth.remove_member(c, "fraud-ml", "alice"),
        "team.member.remove",
        "team.updated",
    ),
    (
        auth.set_rotation,
        lambda a: (
            lambda c: auth.set_rotation(c, "fraud-ml", "primary", ["alice"], starts_on="2026-01-05")
        ),
        "team.rotation.set",
        "team.oncall.changed",
    ),
    (
        auth.set_escalation,
        lambda a: lambda c: auth.set_escalation(c, "fraud-ml", "risk-owner", principal="carol"),
        "team.escalation.set",
        "team.escalation.changed",
    ),
    (
        auth.register_asset,
        lambda a: lambda c: auth.register_asset(c, "model", "scorer", "fraud-ml"),
        "asset.register",
        "asset.registered",
    ),
    (
        auth.bind_role,
        lambda a: lambda c: auth.bind_role(c, "bob", "approver"),
        "binding.create",
        "binding.created",
    ),
    (
        auth.unbind_role,
        lambda a: (lambda b: lambda c: auth.unbind_role(c, b))(_binding(a)),
        "binding.delete",
        "binding.deleted",
    ),
    (
        auth.create_token,
        lambda a: lambda c: auth.create_token(c, "bob"),
        "token.create",
        "token.created",
    ),
    (
        auth.revoke_token,
        lambda a: (lambda tok: lambda c: auth.revoke_token(c, tok))(_token_of(a, "bob")),
        "token.revoke",
        "token.revoked",
    ),
    (
        data.apply_contract,
        lambda a: _in_granted_folder(a, tiny_contract("ch-a", "orders")),
        "contract.apply",
        "contract.applied",
    ),
    (
        data.run_checks,
        lambda a: (lambda _: lambda c: data.run_checks(c, "ch-r"))(
            data.apply_contract(a, tiny_contract("ch-r", "orders"), "fraud-ml")
        ),
        "check.run",
        "check.passed",
    ),
    (
        data.snapshot_dataset,
        lambda a: (lambda _: lambda c: data.snapshot_dataset(c, "fraud-ml/orders"))(
            data.apply_contract(a, tiny_contract("ch-s", "orders"), "fraud-ml")
        ),
        "dataset.snapshot",
        "dataset.version.created",
    ),
    (
        registry.create_run,
        lambda a: lambda c: registry.create_run(c, "train", "fraud-ml"),
        "run.create",
        "run.started",
    ),
    (
        registry.end_run,
        lambda a: (lambda run: lambda c: registry.end_run(c, run.id))(
            registry.create_run(a, "train", "fraud-ml")
        ),
        "run.end",
        "run.ended",
    ),
    (
        registry.register_model,
        lambda a: (
            lambda c: registry.register_model(c, "scorer", team="fraud-ml", artifact=_artifact(a))
        ),
        "model.register",
        "model.version.created",
    ),
    (
        registry.set_alias,
        lambda a: (lambda _: lambda c: registry.set_alias(c, "scorer@1", "champion"))(
            registry.register_model(a, "scorer", team="fraud-ml", artifact=_artifact(a))
        ),
        "model.alias",
        "model.alias.moved",
    ),
]


def _in_granted_folder(admin: Context, contract: str) -> Change:
    """Applying ``contract`` from a folder already granted its team: one entry, no grant."""
    roots.add_root(admin, "fraud-ml", Path(contract).parent)
    return lambda c: data.apply_contract(c, contract, "fraud-ml")


def _artifact(ctx: Context) -> Any:
    """A small opaque model file in the test's home."""
    path = ctx.settings.home / "scorer.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights")
    return path


# Audited operations of the line's later stations (evaluation, cards, policy, catalog, schema
# changes): each runs through its permission-matrix row, as an actor holding every role.
LINE_CHANGES = [op for op in OPERATIONS if op.audited and op.fn not in {fn for fn, *_ in CHANGES}]


def test_every_audited_operation_is_covered() -> None:
    audited = {op.fn for op in OPERATIONS if op.audited}
    assert {fn for fn, *_ in CHANGES} <= audited
    assert {fn for fn, *_ in CHANGES} | {op.fn for op in LINE_CHANGES} == audited
    assert {"eval.run", "model.promote", "approval.decide"} <= {op.action for op in LINE_CHANGES}


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("op", LINE_CHANGES, ids=[op.label for op in LINE_CHANGES])
def test_each_line_change_writes_one_entry_and_one_event_together(admin: Context, op: Any) -> None:
    world = World(admin, Scenario("platform-admin", "global"))
    # Separation of duties keeps some actions from platform-admin: bind the roles carrying them.
    for role in sorted(
        {next(r for r in ROLES if op.action in PERMISSIONS[r])} - {"platform-admin"}
    ):
        auth.bind_role(admin, world.actor, role)
    call = op.prepare(world, op.targets[0])
    trail = Trail(admin)
    call(as_principal(admin, world.actor))
    (entry,) = trail.audit()
    (emitted,) = trail.events()
    assert (entry.action, entry.actor) == (op.action, world.actor)
    assert emitted.object_id == entry.object_id
    assert emitted.payload["audit_id"] == entry.id
    assert emitted.payload["actor"] == world.actor
    assert entry.ts == emitted.created_at
    assert audit_service.verify(admin).ok


@pytest.mark.parametrize(
    ("arrange", "action", "event"),
    [(arrange, action, event) for _, arrange, action, event in CHANGES],
    ids=[action for _, _, action, _ in CHANGES],
)
def test_each_change_writes_one_entry_and_one_event_together(
    people: Context, arrange: Callable[[Context], Change], action: str, event: str
) -> None:
    change = arrange(people)
    trail = Trail(people)
    change(people)
    (entry,) = trail.audit()
    (emitted,) = trail.events()
    assert (entry.action, entry.actor, emitted.type) == (action, "admin", event)
    assert emitted.object_id == entry.object_id
    assert emitted.payload["audit_id"] == entry.id
    assert emitted.payload["actor"] == "admin"
    assert entry.ts == emitted.created_at
    assert audit_service.verify(people).ok


@pytest.mark.parametrize("broken", ["audit", "outbox"])
@pytest.mark.parametrize(
    ("arrange", "action"),
    [
        (CHANGES[0][1], "principal.create"),
        (CHANGES[8][1], "binding.create"),
        (CHANGES[11][1], "token.revoke"),
    ],
    ids=["create_principal", "bind_role", "revoke_token"],
)
def test_a_change_whose_audit_or_event_fails_is_not_made(
    people: Context,
    monkeypatch: pytest.MonkeyPatch,
    arrange: Callable[[Context], Change],
    action: str,
    broken: str,
) -> None:
    change = arrange(people)
    before = dump(people)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"{broken} unavailable")

    if broken == "audit":
        monkeypatch.setattr(chain, "append", boom)
    else:
        monkeypatch.setattr(outbox, "emit", boom)
    with pytest.raises(RuntimeError):
        change(people)
    assert dump(people) == before, f"{action} left a trace although its {broken} write failed"


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_admins_disabling_each_other_at_once_leave_one(
    people: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both checks run before either commits: the admin rows are locked, so one must wait."""
    auth.bind_role(people, "bob", "platform-admin")
    admin, bob = people, as_principal(people, "bob")
    check = queries.enabled_global_admins

    def slow_check(session: Any) -> set[str]:
        found = check(session)
        time.sleep(0.5)  # hold whatever the check locked while the other thread arrives
        return found

    monkeypatch.setattr(queries, "enabled_global_admins", slow_check)
    outcomes: dict[str, str] = {}

    def disable(ctx: Context, target: str) -> None:
        try:
            auth.disable_principal(ctx, target)
            outcomes[target] = "disabled"
        except Conflict:
            outcomes[target] = "refused"

    threads = [
        threading.Thread(target=disable, args=(admin, "bob")),
        threading.Thread(target=disable, args=(bob, "admin")),
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["disabled", "refused"]
    enabled = [p.name for p in auth.list_principals(people) if not p.disabled]
    assert {"admin", "bob"} & set(enabled)
