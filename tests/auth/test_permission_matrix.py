"""Every service operation against every role, at every scope.

``OPERATIONS`` is the one table: each public, Context-taking function of the service modules,
how to call it, the action it needs and how that check is scoped. A completeness test fails
when a service grows an operation the table lacks, and a tracing test proves each row names
the action the service really checks. Expected allow/deny derives from ``PERMISSIONS`` plus the
scope rules; ``HAND`` pins a few dozen cells down by hand so a wrong derivation cannot agree
with a wrong table. Denied calls must raise ``Forbidden`` and leave every table unchanged.

The full matrix runs on SQLite, one database per scenario shared by that scenario's cells
(each cell arranges fresh objects as the admin first); a sample of scenarios runs on
PostgreSQL as well.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import pytest
from sqlalchemy import func, select

from andon.audit import service as audit
from andon.auth import api_tokens, assets, bindings, principals, rotations, teams
from andon.auth import service as auth
from andon.board import service as board
from andon.cards import graph as card_graph
from andon.cards import narrative as cards
from andon.cards import service as card_service
from andon.core.clock import FrozenClock
from andon.core.config import Settings
from andon.core.context import Context
from andon.core.errors import Forbidden
from andon.core.permissions import (
    ACTIONS,
    GLOBAL_ONLY,
    PERMISSIONS,
    RESERVED_ACTIONS,
    ROLES,
    TEAM_OWNER,
    TEAM_WIDE,
    scoped_actions,
)
from andon.data import (
    approvals,
    catalog,
    check_runs,
    connections,
    contract_versions,
    dataset_versions,
    overview,
    profile,
    reader,
    roots,
)
from andon.data import service as data
from andon.evaluate import service as evaluate
from andon.events import service as events
from andon.lineage import coverage as lineage_coverage
from andon.lineage import service as lineage
from andon.policy import approvals as policy_approvals
from andon.policy import cord as policy_cord
from andon.policy import promotion as policy_promotion
from andon.policy import service as policy
from andon.registry import aliases as registry_aliases
from andon.registry import leases, tracking
from andon.registry import models as registry_models
from andon.registry import service as registry
from andon.serve import cords as serve_cords
from andon.serve import deployments as serve_deployments
from andon.serve import endpoints as serve_endpoints
from andon.serve import spending as serve_spending
from andon.serve import variants as serve_variants
from andon.serve import violations as serve_violations
from andon.store import migrate
from andon.store.db import Database
from andon.store.tables import audit as audit_tables
from andon.store.tables import auth as t
from andon.store.tables import base as base_tables
from andon.telemetry import service as telemetry
from tests.conftest import as_principal
from tests.telemetry import rows as telemetry_rows

SERVICE_MODULES: tuple[ModuleType, ...] = (
    principals,
    teams,
    rotations,
    assets,
    bindings,
    api_tokens,
    audit,
    events,
    board,
    contract_versions,
    check_runs,
    dataset_versions,
    registry,
    tracking,
    registry_models,
    registry_aliases,
    leases,
    cards,
    lineage,
    card_service,
    card_graph,
    lineage_coverage,
    reader,
    evaluate,
    policy,
    policy_approvals,
    policy_promotion,
    policy_cord,
    profile,
    catalog,
    approvals,
    overview,
    roots,
    connections,
    serve_endpoints,
    serve_spending,
    serve_cords,
    serve_deployments,
    serve_variants,
    serve_violations,
    telemetry,
)

Check = Literal["global", "team", "asset", "somewhere", "self"]
"""How an operation's check is scoped:

``global``     ``require(action)``: only a global grant carries it.
``team``       ``require(action, team_id=...)``: a global grant, or one on that team.
``asset``      ``require(action, team_id=..., asset_id=...)``: global, that team, or that asset.
``somewhere``  ``require_somewhere(action)``: a listing; any grant carrying it, rows filtered.
``self``       no check: the principal acts on itself (``action`` is None).
"""

# Targets an operation is aimed at, as (team, asset) of the world below. The actor's scoped
# binding is always on team "home" or on asset "A1" (in "home").
TARGETS: dict[str, tuple[str | None, str | None]] = {
    "-": (None, None),
    "home": ("home", None),
    "away": ("away", None),
    "A1": ("home", "A1"),
    "A2": ("home", "A2"),
    "B1": ("away", "B1"),
}
NO_TARGET = ("-",)
TEAM_TARGETS = ("home", "away")
ASSET_TARGETS = ("A1", "A2", "B1")


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class Scenario:
    """What the acting principal holds: a role at a scope (``team-owner``: owns "home")."""

    role: str | None
    scope: Literal["global", "team", "asset"] | None

    @property
    def label(self) -> str:
        if self.role is None:
            return "nobody"
        if self.role == TEAM_OWNER:
            return TEAM_OWNER
        return f"{self.role}@{self.scope}"


SCENARIOS: list[Scenario] = [
    Scenario(None, None),
    *(Scenario(role, scope) for scope in ("global", "team", "asset") for role in ROLES),
    Scenario(TEAM_OWNER, "team"),
]
SCENARIO_BY_LABEL = {s.label: s for s in SCENARIOS}


class World:
    """A small installation: teams home and away, assets A1, A2 (home) and B1 (away), an actor.

    Helper methods create fresh objects as the admin, so cells never share a target.
    """

    actor = "actor"

    def __init__(self, admin: Context, scenario: Scenario) -> None:
        self.admin = admin
        self.scenario = scenario
        self._n = itertools.count()
        for name in (self.actor, "alice", "bob"):
            auth.create_principal(admin, name)
        owns = scenario.role == TEAM_OWNER
        auth.create_team(admin, "home", owners=[self.actor] if owns else ["alice"])
        auth.create_team(admin, "away", owners=["alice"])
        self.assets = {
            label: auth.register_asset(admin, "dataset", label.lower(), team).id
            for label, team in (("A1", "home"), ("A2", "home"), ("B1", "away"))
        }
        for team in ("home", "away"):
            auth.set_rotation(admin, team, "primary", ["alice", "bob"], starts_on="2026-01-05")
        if scenario.role is not None and not owns:
            assert scenario.scope is not None
            target = {"global": None, "team": "home", "asset": self.assets["A1"]}[scenario.scope]
            auth.bind_role(admin, self.actor, scenario.role, scope=scenario.scope, target=target)

    def fresh(self, prefix: str) -> str:
        return f"{prefix}-{next(self._n)}"

    def principal(self) -> str:
        name = self.fresh("p")
        auth.create_principal(self.admin, name)
        return name

    def member(self, team: str) -> str:
        name = self.principal()
        auth.add_member(self.admin, team, name)
        return name

    def target(self, scope: str, target: str) -> str | None:
        return {"global": None, "team": target, "asset": self.assets.get(target)}[scope]

    def binding(self, scope: str, target: str) -> str:
        bound = auth.bind_role(
            self.admin,
            self.principal(),
            "viewer",
            scope=scope,
            target=self.target(scope, target),
        )
        return bound.id

    def token(self, owner: str) -> str:
        return auth.create_token(self.admin, owner)[0].id


# --------------------------------------------------------------------------- the table

Prepare = Callable[[World, str], "partial[Any]"]


@dataclass(frozen=True)
class Op:
    """One service operation: ``prepare(world, target)`` arranges and returns the call."""

    label: str
    fn: Callable[..., Any]
    action: str | None
    check: Check
    prepare: Prepare
    audited: bool = False
    also: tuple[str, ...] = ()  # further actions the operation checks at the same scope

    @property
    def actions(self) -> tuple[str, ...]:
        return () if self.action is None else (self.action, *self.also)

    @property
    def targets(self) -> tuple[str, ...]:
        return {"team": TEAM_TARGETS, "asset": ASSET_TARGETS}.get(self.check, NO_TARGET)


def _ignore(_event: object) -> None:
    """A drain handler that does nothing."""


def _file(w: World, content: bytes, suffix: str = ".bin") -> Path:
    """A fresh file on disk to register as an artifact."""
    path = w.admin.settings.home / "matrix-files" / f"{w.fresh('f')}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _run(w: World, tgt: str) -> str:
    """A fresh running run, made by the admin in the target's team."""
    team = TARGETS[tgt][0] or "home"
    return registry.create_run(w.admin, w.fresh("run"), team).id


def _model(w: World, tgt: str) -> str:
    """A fresh model with one version in the target's team; returns ``name@1``.

    Target "A1" stands for "the asset the actor is bound to": in an asset-scoped scenario
    the actor's role is bound on this model's asset too (A2 and B1 stay unbound).
    """
    team = TARGETS[tgt][0] or "home"
    name = w.fresh("m")
    registry.register_model(w.admin, name, team=team, artifact=_file(w, name.encode()))
    if w.scenario.scope == "asset" and tgt == "A1" and w.scenario.role is not None:
        asset_id = registry.get_model(w.admin, name).asset_id
        auth.bind_role(w.admin, w.actor, w.scenario.role, scope="asset", target=asset_id)
    return f"{name}@1"


def _contract_file(contract_id: str, table: str) -> str:
    """A one-table ODCS contract over a five-row Parquet file, in a fresh temp folder."""
    import tempfile

    import duckdb

    folder = Path(tempfile.mkdtemp(prefix="andon-matrix-"))
    duckdb.connect().execute(
        f"COPY (SELECT range AS id FROM range(5)) TO '{folder / (table + '.parquet')}'"
    )
    (folder / "c.odcs.yaml").write_text(
        f"apiVersion: v3.0.2\nkind: DataContract\nid: {contract_id}\nversion: 1.0.0\n"
        "status: active\nservers: [{server: local, type: local, path: ., format: parquet}]\n"
        f"schema: [{{name: {table}, properties: [{{name: id, logicalType: integer, "
        "unique: true}]}]\n"
    )
    return str(folder / "c.odcs.yaml")


def _contract_text(w: World, team: str, *, as_file: bool = False) -> dict[str, Any]:
    """A fresh contract as text and the folder its relative server path resolves in.

    The admin grants the folder to ``team`` first: a text applied (as over REST) grants no
    folder, and a file applied in a granted folder grants nothing more (one audit entry)."""
    file = Path(_contract_file(w.fresh("c"), w.fresh("t").replace("-", "_")))
    roots.add_root(w.admin, team, file.parent)
    if as_file:
        return {"path": file}
    return {"content": file.read_text(), "base_dir": file.parent}


def _root(w: World, team: str) -> str:
    """A fresh folder granted to ``team`` by the admin."""
    folder = w.admin.settings.home / "matrix-roots" / w.fresh("r")
    folder.mkdir(parents=True)
    roots.add_root(w.admin, team, folder)
    return str(folder)


def _folder(w: World) -> str:
    """A fresh folder nobody has been granted."""
    folder = w.admin.settings.home / "matrix-roots" / w.fresh("r")
    folder.mkdir(parents=True)
    return str(folder)


def _applied(w: World, team: str, table: str) -> str:
    """A contract describing dataset ``team/table``, applied once per world as the admin."""
    cache: dict[tuple[str, str], str] = w.__dict__.setdefault("_contracts", {})
    if (team, table) not in cache:
        key = w.fresh("contract")
        data.apply_contract(w.admin, _contract_file(key, table), team)
        cache[team, table] = key
    return cache[team, table]


def _dataset(w: World, tgt: str) -> str:
    """``team/name`` of the dataset on asset ``tgt`` (A1, A2 or B1)."""
    team = TARGETS[tgt][0]
    assert team is not None
    _applied(w, team, tgt.lower())
    return f"{team}/{tgt.lower()}"


def _pending(w: World, tgt: str) -> str:
    """A fresh contract of the target's team with a breaking version 2 pending; its ref."""
    team = TARGETS[tgt][0] or "home"
    key = w.fresh("contract")
    first = Path(_contract_file(key, w.fresh("t").replace("-", "_")))
    data.apply_contract(w.admin, first, team)
    text = first.read_text().replace("version: 1.0.0", "version: 2.0.0")
    first.write_text(text.replace("unique: true", "unique: true, required: true"))
    data.apply_contract(w.admin, first, team)
    return f"{key}@2.0.0"


def _version(w: World, tgt: str) -> str:
    cache: dict[str, str] = w.__dict__.setdefault("_versions", {})
    if tgt not in cache:
        cache[tgt] = data.snapshot_dataset(w.admin, _dataset(w, tgt)).id
    return cache[tgt]


def _materialized(w: World, tgt: str) -> str:
    """A dataset version of the dataset on asset ``tgt`` with its Parquet copy."""
    cache: dict[str, str] = w.__dict__.setdefault("_materialized", {})
    if tgt not in cache:
        cache[tgt] = data.snapshot_dataset(w.admin, _dataset(w, tgt), materialize=True).id
    return cache[tgt]


_EVAL_SUITE = (
    "name: matrix\ndataset: {team}/scored\nlabel: flag\nfeatures: [x]\n"
    "metrics: [accuracy]\nlatency: {{predictions: 2}}\n"
)


def _onnx_model(w: World) -> Path:
    """A one-feature ONNX classifier (fitted once per world)."""
    cache: dict[str, Path] = w.__dict__.setdefault("_onnx", {})
    if "path" not in cache:
        cache["path"] = _file(w, _onnx_bytes(), ".onnx")
    return cache["path"]


@functools.cache
def _onnx_bytes() -> bytes:
    """The classifier's ONNX bytes (fitted and converted once per test process)."""
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    X = np.arange(8, dtype=np.float32).reshape(-1, 1)
    model = LogisticRegression().fit(X, np.arange(8) % 2)
    return bytes(
        to_onnx(model, X[:1], target_opset=17, options={"zipmap": False}).SerializeToString()
    )


def _evaluable(w: World, tgt: str) -> tuple[str, Path]:
    """A fresh ONNX model in the target's team and a suite over that team's ``scored``
    dataset (versioned once per team). For target "A1" in an asset-scoped scenario the actor's
    role is bound on the model's and the dataset's assets, as ``_model`` does."""
    import duckdb

    team = TARGETS[tgt][0] or "home"
    bound = w.scenario.scope == "asset" and tgt == "A1" and w.scenario.role is not None
    suites: dict[str, tuple[Path, str]] = w.__dict__.setdefault("_eval_suites", {})
    if team not in suites:
        folder = Path(w.admin.settings.home) / "matrix-eval" / team
        folder.mkdir(parents=True)
        duckdb.connect().execute(
            "COPY (SELECT CAST(range AS DOUBLE) AS x, range % 2 AS flag FROM range(8)) "
            f"TO '{folder / 'scored.parquet'}'"
        )
        (folder / "c.odcs.yaml").write_text(
            f"apiVersion: v3.0.2\nkind: DataContract\nid: {w.fresh('scored')}\nversion: 1.0.0\n"
            "status: active\nservers: [{server: local, type: local, path: ., format: parquet}]\n"
            "schema: [{name: scored, properties: [{name: x, logicalType: number}, "
            "{name: flag, logicalType: integer}]}]\n"
        )
        asset = auth.register_asset(w.admin, "dataset", "scored", team).id
        data.apply_contract(w.admin, folder / "c.odcs.yaml", team)
        data.snapshot_dataset(w.admin, f"{team}/scored", materialize=True)
        (folder / "suite.yaml").write_text(_EVAL_SUITE.format(team=team))
        suites[team] = (folder / "suite.yaml", asset)
    suite, dataset_asset = suites[team]
    name = w.fresh("m")
    registry.register_model(w.admin, name, team=team, artifact=_onnx_model(w))
    if bound:
        role = str(w.scenario.role)
        if not w.__dict__.setdefault("_eval_bound", False):
            auth.bind_role(w.admin, w.actor, role, scope="asset", target=dataset_asset)
            w.__dict__["_eval_bound"] = True
        asset_id = registry.get_model(w.admin, name).asset_id
        auth.bind_role(w.admin, w.actor, role, scope="asset", target=asset_id)
    return f"{team}/{name}@1", suite


def _evaluated(w: World, tgt: str) -> tuple[str, str]:
    """An evaluation (run by the admin) of a fresh model in the target's team, once per
    target: ``(evaluation id, TEAM/NAME of the model)``."""
    cache: dict[str, tuple[str, str]] = w.__dict__.setdefault("_evaluations", {})
    if tgt not in cache:
        ref, suite = _evaluable(w, tgt)
        cache[tgt] = (evaluate.run_evaluation(w.admin, ref, suite).id, ref.split("@")[0])
    return cache[tgt]


# Policy: a policy per team (applied once per world), whose production gate is `true` and
# needs no approvals, and whose review stage needs an approver and a risk-owner.
def _policy_text(team: str, note: str = "matrix") -> str:
    return (
        f"team: {team}\ndescription: {note}\nstages:\n  production:\n    gate: 'true'\n"
        "  review:\n    alias: reviewed\n    gate: 'true'\n    approvals: [approver, risk-owner]\n"
    )


def _shippable(w: World, tgt: str) -> str:
    """A fresh ``name@1`` under its team's policy."""
    team = TARGETS[tgt][0] or "home"
    applied: set[str] = w.__dict__.setdefault("_policies", set())
    if team not in applied:
        policy.apply_policy(w.admin, _policy_text(team))
        applied.add(team)
    return _model(w, tgt)


def _request(w: World, tgt: str) -> str:
    return policy_approvals.request_approval(w.admin, _shippable(w, tgt), "review").id


def _deciding_role(w: World) -> str:
    return w.scenario.role if w.scenario.role in ("approver", "risk-owner") else "approver"


def _promoted_twice(w: World, tgt: str) -> str:
    """A model whose production alias went to version 1, then 2; returns its name."""
    name = _shippable(w, tgt).split("@")[0]
    team = TARGETS[tgt][0] or "home"
    registry.register_model(w.admin, name, team=team, artifact=_file(w, f"{name} v2".encode()))
    policy_promotion.promote(w.admin, f"{name}@1", "production")
    policy_promotion.promote(w.admin, f"{name}@2", "production")
    return name


def _pulled(w: World, tgt: str) -> str:
    name = _model(w, tgt).split("@")[0]
    policy_cord.pull_cord(w.admin, name, reason="matrix")
    return name


def _endpoint_text(team: str, name: str) -> str:
    return f"name: {name}\nteam: {team}\nkind: llm\nupstreams: [http://127.0.0.1:9/v1]\n"


def _endpoint(w: World, tgt: str) -> str:
    """A fresh endpoint in the target's team; in an asset-scoped scenario, target "A1" is
    bound on the endpoint's own asset (as :func:`_model` does for models)."""
    team = TARGETS[tgt][0] or "home"
    name = w.fresh("e")
    record = serve_endpoints.apply_endpoint(w.admin, _endpoint_text(team, name))
    if w.scenario.scope == "asset" and tgt == "A1" and w.scenario.role is not None:
        asset_id = next(a.id for a in auth.list_assets(w.admin, team) if a.name == name)
        auth.bind_role(w.admin, w.actor, w.scenario.role, scope="asset", target=asset_id)
    return record.name


def _model_endpoint(w: World, tgt: str, *, moved: bool) -> str:
    """A fresh model endpoint serving a fresh model's ``shadow`` alias (its first deployment
    recorded when applied); ``moved``: the alias then moved, so a sync records one more. In an
    asset-scoped scenario, target "A1" is bound on the endpoint's asset."""
    team = TARGETS[tgt][0] or "home"
    model, name = w.fresh("m"), w.fresh("e")
    for n in (1, 2):
        registry.register_model(
            w.admin, model, team=team, artifact=_file(w, f"{model}{n}".encode())
        )
    registry.set_alias(w.admin, f"{model}@1", "shadow")
    serve_endpoints.apply_endpoint(
        w.admin, f"name: {name}\nteam: {team}\nkind: model\nmodel: {model}\nalias: shadow\n"
    )
    if moved:
        registry.set_alias(w.admin, f"{model}@2", "shadow")
    if w.scenario.scope == "asset" and tgt == "A1" and w.scenario.role is not None:
        asset_id = next(a.id for a in auth.list_assets(w.admin, team) if a.name == name)
        auth.bind_role(w.admin, w.actor, w.scenario.role, scope="asset", target=asset_id)
    return name


def _pulled_endpoint(w: World, tgt: str) -> str:
    name = _endpoint(w, tgt)
    serve_cords.pull_endpoint_cord(w.admin, name, reason="matrix")
    return name


def _line(w: World, team: str | None, *, pulled: bool) -> None:
    """Put the cord of ``team`` (None: of every team) in the given state, as admins (a
    second admin completes a release of the whole line)."""
    scope = "all" if team is None else "team"
    for _ in range(3):
        current = next(
            (c for c in policy_cord.cord_status(w.admin) if c.scope == scope and c.team == team),
            None,
        )
        if (current is not None and current.pulled) is pulled:
            return
        if pulled:
            policy_cord.pull_line_cord(w.admin, team, reason="matrix")
            continue
        releaser = w.principal()
        auth.bind_role(w.admin, releaser, "platform-admin")
        policy_cord.release_line_cord(as_principal(w.admin, releaser), team, reason="matrix")
    raise AssertionError(f"the {scope} cord did not reach pulled={pulled}")


def _release_requested(w: World) -> None:
    """The whole line's cord pulled and its release asked for by another admin: the release
    under test is the second principal's, the one that restarts the line."""
    _line(w, None, pulled=True)
    current = next(c for c in policy_cord.cord_status(w.admin) if c.scope == "all")
    if current.release_requested_by is None:
        asker = w.principal()
        auth.bind_role(w.admin, asker, "platform-admin")
        policy_cord.release_line_cord(as_principal(w.admin, asker), None, reason="asked")


def _proposal(w: World, tgt: str) -> str:
    """A fresh pending description proposal on the dataset of asset ``tgt``."""
    from andon.core.ids import new_id
    from andon.store.tables import catalog as c
    from andon.store.tables import data as d

    team, name = _dataset(w, tgt).split("/")
    with w.admin.db.transaction() as session:
        ds = session.scalar(
            select(d.Dataset)
            .join(t.Team, t.Team.id == d.Dataset.team_id)
            .where(t.Team.name == team, d.Dataset.name == name)
        )
        assert ds is not None
        row = c.CatalogProposal(
            id=new_id("proposal"),
            dataset_id=ds.id,
            column="id",
            kind="description",
            value={"description": f"Identifier {w.fresh('d')}."},
            rationale="matrix",
            enricher="offline",
            status="pending",
            proposed_by="admin",
            proposed_at=w.admin.clock.now(),
            reason="",
        )
        session.add(row)
        return row.id


def _connection(w: World) -> str:
    """A fresh connection, declared by the admin."""
    name = w.fresh("c")
    connections.add_connection(
        w.admin, name, host="127.0.0.1", database="shop", user="andon", password_env="PGPASSWORD"
    )
    return name


# fmt: off
OPERATIONS: list[Op] = [
    # identity
    Op("auth.create_principal", auth.create_principal, "principal.create", "global",
       lambda w, _: partial(auth.create_principal, name=w.fresh("p")), audited=True),
    Op("auth.disable_principal", auth.disable_principal, "principal.disable", "global",
       lambda w, _: partial(auth.disable_principal, name=w.principal()), audited=True),
    Op("auth.list_principals", auth.list_principals, "principal.read", "global",
       lambda w, _: partial(auth.list_principals)),
    Op("auth.whoami", auth.whoami, None, "self",
       lambda w, _: partial(auth.whoami)),
    # teams
    Op("auth.create_team", auth.create_team, "team.create", "global",
       lambda w, _: partial(auth.create_team, name=w.fresh("t")), audited=True),
    Op("auth.add_member", auth.add_member, "team.update", "team",
       lambda w, tgt: partial(auth.add_member, team=tgt, principal=w.principal()), audited=True),
    Op("auth.remove_member", auth.remove_member, "team.update", "team",
       lambda w, tgt: partial(auth.remove_member, team=tgt, principal=w.member(tgt)),
       audited=True),
    Op("auth.list_teams", auth.list_teams, "team.read", "somewhere",
       lambda w, _: partial(auth.list_teams)),
    Op("auth.get_team", auth.get_team, "team.read", "team",
       lambda w, tgt: partial(auth.get_team, name=tgt)),
    # on-call and escalation
    Op("auth.set_rotation", auth.set_rotation, "team.oncall", "team",
       lambda w, tgt: partial(auth.set_rotation, team=tgt, name=w.fresh("r"),
                              members=["alice"], starts_on="2026-01-05"), audited=True),
    Op("auth.oncall", auth.oncall, "team.read", "team",
       lambda w, tgt: partial(auth.oncall, team=tgt)),
    Op("auth.list_rotations", auth.list_rotations, "team.read", "team",
       lambda w, tgt: partial(auth.list_rotations, team=tgt)),
    Op("auth.set_escalation", auth.set_escalation, "team.escalation", "team",
       lambda w, tgt: partial(auth.set_escalation, team=tgt, level="risk-owner",
                              principal="bob"), audited=True),
    Op("auth.escalation", auth.escalation, "team.read", "team",
       lambda w, tgt: partial(auth.escalation, team=tgt)),
    # assets
    Op("auth.register_asset", auth.register_asset, "asset.register", "team",
       lambda w, tgt: partial(auth.register_asset, kind="dataset", name=w.fresh("d"),
                              team=tgt), audited=True),
    Op("auth.list_assets", auth.list_assets, "asset.read", "somewhere",
       lambda w, _: partial(auth.list_assets)),
    # role bindings, one row per scope of the binding
    Op("auth.bind_role[global]", auth.bind_role, "binding.create", "global",
       lambda w, _: partial(auth.bind_role, principal=w.principal(), role="viewer"),
       audited=True),
    Op("auth.bind_role[team]", auth.bind_role, "binding.create", "team",
       lambda w, tgt: partial(auth.bind_role, principal=w.principal(), role="viewer",
                              scope="team", target=tgt), audited=True),
    Op("auth.bind_role[asset]", auth.bind_role, "binding.create", "asset",
       lambda w, tgt: partial(auth.bind_role, principal=w.principal(), role="viewer",
                              scope="asset", target=w.assets[tgt]), audited=True),
    Op("auth.unbind_role[global]", auth.unbind_role, "binding.delete", "global",
       lambda w, tgt: partial(auth.unbind_role, binding_id=w.binding("global", tgt)),
       audited=True),
    Op("auth.unbind_role[team]", auth.unbind_role, "binding.delete", "team",
       lambda w, tgt: partial(auth.unbind_role, binding_id=w.binding("team", tgt)),
       audited=True),
    Op("auth.unbind_role[asset]", auth.unbind_role, "binding.delete", "asset",
       lambda w, tgt: partial(auth.unbind_role, binding_id=w.binding("asset", tgt)),
       audited=True),
    Op("auth.list_bindings", auth.list_bindings, "binding.read", "somewhere",
       lambda w, _: partial(auth.list_bindings)),
    # tokens: one's own need nothing, another's a global permission
    Op("auth.create_token[self]", auth.create_token, None, "self",
       lambda w, _: partial(auth.create_token, principal=w.actor), audited=True),
    Op("auth.create_token[other]", auth.create_token, "token.create", "global",
       lambda w, _: partial(auth.create_token, principal=w.principal()), audited=True),
    Op("auth.revoke_token[self]", auth.revoke_token, None, "self",
       lambda w, _: partial(auth.revoke_token, token_id=w.token(w.actor)), audited=True),
    Op("auth.revoke_token[other]", auth.revoke_token, "token.revoke", "global",
       lambda w, _: partial(auth.revoke_token, token_id=w.token(w.principal())),
       audited=True),
    Op("auth.list_tokens[self]", auth.list_tokens, None, "self",
       lambda w, _: partial(auth.list_tokens)),
    Op("auth.list_tokens[other]", auth.list_tokens, "principal.read", "global",
       lambda w, _: partial(auth.list_tokens, principal="alice")),
    # named connections
    Op("connections.add_connection", connections.add_connection, "connection.manage", "global",
       lambda w, _: partial(connections.add_connection, name=w.fresh("c"), host="127.0.0.1",
                            database="shop", user="andon", password_env="PGPASSWORD"),
       audited=True),
    Op("connections.list_connections", connections.list_connections, "contract.apply",
       "somewhere", lambda w, _: partial(connections.list_connections)),
    Op("connections.remove_connection", connections.remove_connection, "connection.manage",
       "global", lambda w, _: partial(connections.remove_connection, name=_connection(w)),
       audited=True),
    # audit
    Op("audit.list_entries", audit.list_entries, "audit.read", "global",
       lambda w, _: partial(audit.list_entries)),
    Op("audit.verify", audit.verify, "audit.verify", "global",
       lambda w, _: partial(audit.verify)),
    # anchoring reads the head and signs it: checked, but writes no audit entry
    Op("audit.anchor", audit.anchor, "audit.anchor", "global",
       lambda w, _: partial(audit.anchor)),
    Op("audit.anchor_if_moved", audit.anchor_if_moved, "audit.anchor", "global",
       lambda w, _: partial(audit.anchor_if_moved, since=None)),
    # events (ack moves a consumer cursor: a write, but not an audited one)
    Op("events.list_events", events.list_events, "events.read", "global",
       lambda w, _: partial(events.list_events)),
    Op("events.read_batch", events.read_batch, "events.read", "global",
       lambda w, _: partial(events.read_batch, consumer=w.fresh("c"))),
    Op("events.ack", events.ack, "events.consume", "global",
       lambda w, _: partial(events.ack, consumer=w.fresh("c"), seq=1)),
    Op("events.cursor", events.cursor, "events.read", "global",
       lambda w, _: partial(events.cursor, consumer=w.fresh("c"))),
    Op("events.drain", events.drain, "events.consume", "global",
       lambda w, _: partial(events.drain, consumer=w.fresh("c"), handler=_ignore)),
    # data: contracts, check runs, dataset versions
    Op("data.apply_contract", data.apply_contract, "contract.apply", "team",
       lambda w, tgt: partial(data.apply_contract, **_contract_text(w, tgt, as_file=True), team=tgt),
       audited=True),
    # REST data door (restdata): the contract text applied as POST /api/v1/contracts does
    Op("data.apply_contract_text", data.apply_contract_text, "contract.apply", "team",
       lambda w, tgt: partial(data.apply_contract_text, **_contract_text(w, tgt), team=tgt),
       audited=True),
    Op("roots.add_root", roots.add_root, "data_root.manage", "global",
       lambda w, _: partial(roots.add_root, team="home", path=_folder(w)), audited=True),
    Op("roots.remove_root", roots.remove_root, "data_root.manage", "global",
       lambda w, _: partial(roots.remove_root, team="home", path=_root(w, "home")), audited=True),
    Op("roots.list_roots", roots.list_roots, "contract.read", "team",
       lambda w, tgt: partial(roots.list_roots, team=tgt)),
    Op("data.list_contracts", data.list_contracts, "contract.read", "somewhere",
       lambda w, _: partial(data.list_contracts)),
    Op("data.show_contract", data.show_contract, "contract.read", "team",
       lambda w, tgt: partial(data.show_contract, ref=_applied(w, tgt, "shown"))),
    Op("data.run_checks", data.run_checks, "check.run", "team",
       lambda w, tgt: partial(data.run_checks, contract=_applied(w, tgt, "checked")), audited=True),
    Op("data.check_history", data.check_history, "dataset.read", "asset",
       lambda w, tgt: partial(data.check_history, dataset=_dataset(w, tgt))),
    Op("data.snapshot_dataset", data.snapshot_dataset, "dataset.snapshot", "asset",
       lambda w, tgt: partial(data.snapshot_dataset, dataset=_dataset(w, tgt)), audited=True),
    Op("data.diff_versions", data.diff_versions, "dataset.read", "asset",
       lambda w, tgt: partial(data.diff_versions, old=_version(w, tgt), new=_version(w, tgt))),
    # catalog: profiles, field classification, enrichment proposals
    Op("profile.profile_dataset", profile.profile_dataset, "dataset.read", "asset",
       lambda w, tgt: partial(profile.profile_dataset, dataset=_dataset(w, tgt))),
    Op("catalog.classify_dataset", catalog.classify_dataset, "data.classify", "asset",
       lambda w, tgt: partial(catalog.classify_dataset, dataset=_dataset(w, tgt)), audited=True),
    Op("catalog.list_proposals", catalog.list_proposals, "dataset.read", "asset",
       lambda w, tgt: partial(catalog.list_proposals, dataset=_dataset(w, tgt))),
    Op("catalog.accept_proposal", catalog.accept_proposal, "catalog.decide", "asset",
       lambda w, tgt: partial(catalog.accept_proposal, proposal_id=_proposal(w, tgt)),
       audited=True),
    Op("catalog.reject_proposal", catalog.reject_proposal, "catalog.decide", "asset",
       lambda w, tgt: partial(catalog.reject_proposal, proposal_id=_proposal(w, tgt)),
       audited=True),
    # data: schema changes and a data-steward's decision on them
    Op("approvals.approve_version", approvals.approve_version, "contract.approve", "team",
       lambda w, tgt: partial(approvals.approve_version, ref=_pending(w, tgt), reason="ok"),
       audited=True),
    Op("approvals.reject_version", approvals.reject_version, "contract.approve", "team",
       lambda w, tgt: partial(approvals.reject_version, ref=_pending(w, tgt), reason="no"),
       audited=True),
    Op("approvals.list_schema_changes", approvals.list_schema_changes, "contract.read",
       "somewhere", lambda w, _: partial(approvals.list_schema_changes)),
    Op("overview.dataset_overview", overview.dataset_overview, "dataset.read", "somewhere",
       lambda w, _: partial(overview.dataset_overview)),
    # runs (logging to a run is its data, not audited; its start and end are)
    Op("registry.create_run", registry.create_run, "run.create", "team",
       lambda w, tgt: partial(registry.create_run, name=w.fresh("run"), team=tgt),
       audited=True),
    Op("registry.log_to_run", registry.log_to_run, "run.create", "team",
       lambda w, tgt: partial(registry.log_to_run, run_id=_run(w, tgt), params={"a": 1},
                              metrics={"f1": 0.5}, datasets=["dsv_x"])),
    Op("leases.heartbeat", leases.heartbeat, "run.create", "team",
       lambda w, tgt: partial(leases.heartbeat, run_id=_run(w, tgt))),
    # ending expired runs is the platform's doing, whoever's read notices (audited as system)
    Op("leases.reap_expired", leases.reap_expired, None, "self",
       lambda w, _: partial(leases.reap_expired)),
    Op("registry.end_run", registry.end_run, "run.create", "team",
       lambda w, tgt: partial(registry.end_run, run_id=_run(w, tgt)), audited=True),
    Op("registry.get_run", registry.get_run, "run.read", "team",
       lambda w, tgt: partial(registry.get_run, run_id=_run(w, tgt))),
    Op("registry.metric_history", registry.metric_history, "run.read", "team",
       lambda w, tgt: partial(registry.metric_history, run_id=_run(w, tgt), key="f1")),
    Op("registry.list_runs", registry.list_runs, "run.read", "somewhere",
       lambda w, _: partial(registry.list_runs, where="metrics.f1 > 0")),
    # models (an existing model is an asset: its checks pass the asset id)
    Op("registry.register_model", registry.register_model, "model.register", "team",
       lambda w, tgt: partial(registry.register_model, name=w.fresh("m"), team=tgt,
                              artifact=_file(w, b"weights")), audited=True),
    Op("registry.register_model[trust]", registry.register_model, "model.trust_pickle", "team",
       lambda w, tgt: partial(registry.register_model, name=w.fresh("m"), team=tgt,
                              artifact=_file(w, b"\x80\x04K\x01.", ".pkl"), trust_pickle=True),
       audited=True),
    Op("registry.register_model[existing]", registry.register_model, "model.register", "asset",
       lambda w, tgt: partial(registry.register_model, name=_model(w, tgt).split("@")[0],
                              team=TARGETS[tgt][0], artifact=_file(w, b"weights v2")),
       audited=True),
    Op("registry.register_model[trust,existing]", registry.register_model, "model.trust_pickle",
       "asset",
       lambda w, tgt: partial(registry.register_model, name=_model(w, tgt).split("@")[0],
                              team=TARGETS[tgt][0], artifact=_file(w, b"\x80\x04K\x02.", ".pkl"),
                              trust_pickle=True),
       audited=True),
    Op("registry.set_alias", registry.set_alias, "model.alias", "asset",
       lambda w, tgt: partial(registry.set_alias, ref=_model(w, tgt), alias="candidate"),
       audited=True),
    Op("registry.get_version", registry.get_version, "model.read", "asset",
       lambda w, tgt: partial(registry.get_version, ref=_model(w, tgt))),
    Op("registry.get_model", registry.get_model, "model.read", "asset",
       lambda w, tgt: partial(registry.get_model, ref=_model(w, tgt).split("@")[0])),
    Op("registry.load_model", registry.load_model, "model.read", "asset",
       lambda w, tgt: partial(registry.load_model, ref=_model(w, tgt))),
    Op("registry.list_models", registry.list_models, "model.read", "somewhere",
       lambda w, _: partial(registry.list_models)),
    # model card narrative
    Op("cards.edit_section", cards.edit_section, "model.card", "asset",
       lambda w, tgt: partial(cards.edit_section, ref=_model(w, tgt), section="purpose",
                              text="Flags card fraud."), audited=True),
    Op("cards.read_sections", cards.read_sections, "model.read", "asset",
       lambda w, tgt: partial(cards.read_sections, ref=_model(w, tgt))),
    # data reads (andon.data.reader) and the evaluation harness
    Op("reader.latest_version", reader.latest_version, "dataset.read", "asset",
       lambda w, tgt: partial(reader.latest_version, dataset=(_version(w, tgt), _dataset(w, tgt))[1])),
    Op("reader.get_version", reader.get_version, "dataset.read", "asset",
       lambda w, tgt: partial(reader.get_version, version_id=_version(w, tgt))),
    Op("reader.read_version", reader.read_version, "dataset.read", "asset",
       lambda w, tgt: partial(reader.read_version, version_id=_materialized(w, tgt),
                              columns=["id"])),
    Op("evaluate.run_evaluation", evaluate.run_evaluation, "eval.run", "asset",
       lambda w, tgt: partial(evaluate.run_evaluation,
                              **dict(zip(("ref", "suite"), _evaluable(w, tgt), strict=True))),
       audited=True,
       also=("model.read", "dataset.read")),
    Op("evaluate.get_evaluation", evaluate.get_evaluation, "model.read", "asset",
       lambda w, tgt: partial(evaluate.get_evaluation, evaluation_id=_evaluated(w, tgt)[0])),
    Op("evaluate.list_evaluations", evaluate.list_evaluations, "model.read", "asset",
       lambda w, tgt: partial(evaluate.list_evaluations, ref=_evaluated(w, tgt)[1])),
    # lineage
    Op("lineage.graph", lineage.graph, "lineage.read", "somewhere",
       lambda w, _: partial(lineage.graph, object_id=_run(w, "home"))),
    Op("lineage.openlineage_events", lineage.openlineage_events, "lineage.read", "global",
       lambda w, _: partial(lineage.openlineage_events)),
    # model cards and lineage coverage
    Op("card_service.model_card", card_service.model_card, "model.read", "asset",
       lambda w, tgt: partial(card_service.model_card, ref=_model(w, tgt))),
    Op("lineage_coverage.coverage", lineage_coverage.coverage, "lineage.read", "somewhere",
       lambda w, _: partial(lineage_coverage.coverage)),
    Op("card_graph.lineage_view", card_graph.lineage_view, "lineage.read", "somewhere",
       lambda w, _: partial(card_graph.lineage_view, obj=_run(w, "home"))),
    # policy: stage policies, gates, approvals, promotion, rollback, the andon cord
    Op("policy.apply_policy", policy.apply_policy, "policy.apply", "team",
       lambda w, tgt: partial(policy.apply_policy, content=_policy_text(tgt, w.fresh("p"))),
       audited=True),
    Op("policy.get_policy", policy.get_policy, "policy.read", "team",
       lambda w, tgt: (_shippable(w, tgt), partial(policy.get_policy, team=tgt))[1]),
    Op("policy.policy_versions", policy.policy_versions, "policy.read", "team",
       lambda w, tgt: partial(policy.policy_versions, team=tgt)),
    Op("policy.check_gate", policy.check_gate, "gate.check", "asset",
       lambda w, tgt: partial(policy.check_gate, ref=_shippable(w, tgt), stage="production"),
       audited=True),
    Op("approvals.request_approval", policy_approvals.request_approval, "approval.request",
       "asset", lambda w, tgt: partial(policy_approvals.request_approval,
                                       ref=_shippable(w, tgt), stage="review"), audited=True),
    Op("approvals.decide_approval", policy_approvals.decide_approval, "approval.decide",
       "asset", lambda w, tgt: partial(policy_approvals.decide_approval,
                                       request_id=_request(w, tgt), decision="approve",
                                       role=_deciding_role(w), reason="looks right"),
       audited=True),
    Op("approvals.list_requests", policy_approvals.list_requests, "policy.read", "somewhere",
       lambda w, _: partial(policy_approvals.list_requests)),
    Op("promotion.promote", policy_promotion.promote, "model.promote", "asset",
       lambda w, tgt: partial(policy_promotion.promote, ref=_shippable(w, tgt),
                              stage="production"), audited=True),
    Op("promotion.rollback", policy_promotion.rollback, "model.rollback", "asset",
       lambda w, tgt: partial(policy_promotion.rollback, name=_promoted_twice(w, tgt),
                              stage="production", reason="regression"), audited=True),
    Op("promotion.promotions", policy_promotion.promotions, "model.read", "asset",
       lambda w, tgt: partial(policy_promotion.promotions, name=_model(w, tgt).split("@")[0])),
    Op("cord.pull_cord", policy_cord.pull_cord, "cord.pull", "asset",
       lambda w, tgt: partial(policy_cord.pull_cord, name=_model(w, tgt).split("@")[0],
                              reason="bad data"), audited=True),
    Op("cord.release_cord", policy_cord.release_cord, "cord.release", "asset",
       lambda w, tgt: partial(policy_cord.release_cord, name=_pulled(w, tgt), reason="fixed"),
       audited=True),
    Op("cord.cord_status", policy_cord.cord_status, "model.read", "somewhere",
       lambda w, _: partial(policy_cord.cord_status)),
    Op("cord.pull_line_cord[team]", policy_cord.pull_line_cord, "cord.pull", "team",
       lambda w, tgt: (_line(w, tgt, pulled=False),
                       partial(policy_cord.pull_line_cord, team=tgt, reason="stop"))[1],
       audited=True),
    Op("cord.release_line_cord[team]", policy_cord.release_line_cord, "cord.release", "team",
       lambda w, tgt: (_line(w, tgt, pulled=True),
                       partial(policy_cord.release_line_cord, team=tgt, reason="fixed"))[1],
       audited=True),
    Op("cord.pull_line_cord[all]", policy_cord.pull_line_cord, "cord.pull", "global",
       lambda w, _: (_line(w, None, pulled=False),
                     partial(policy_cord.pull_line_cord, team=None, reason="stop"))[1],
       audited=True),
    Op("cord.release_line_cord[all]", policy_cord.release_line_cord, "cord.release", "global",
       lambda w, _: (_release_requested(w),
                     partial(policy_cord.release_line_cord, team=None, reason="fixed"))[1],
       audited=True),
    # serve: gateway endpoints and their cords
    Op("serve.apply_endpoint", serve_endpoints.apply_endpoint, "endpoint.apply", "team",
       lambda w, tgt: partial(serve_endpoints.apply_endpoint,
                              content=_endpoint_text(tgt, w.fresh("e"))), audited=True),
    Op("serve.get_endpoint", serve_endpoints.get_endpoint, "endpoint.read", "asset",
       lambda w, tgt: partial(serve_endpoints.get_endpoint, name=_endpoint(w, tgt))),
    Op("serve.list_endpoints", serve_endpoints.list_endpoints, "endpoint.read", "somewhere",
       lambda w, _: partial(serve_endpoints.list_endpoints)),
    Op("serve.pull_endpoint_cord", serve_cords.pull_endpoint_cord, "cord.pull", "asset",
       lambda w, tgt: partial(serve_cords.pull_endpoint_cord, name=_endpoint(w, tgt),
                              reason="bad answers"), audited=True),
    Op("serve.release_endpoint_cord", serve_cords.release_endpoint_cord, "cord.release",
       "asset", lambda w, tgt: partial(serve_cords.release_endpoint_cord,
                                       name=_pulled_endpoint(w, tgt), reason="fixed"),
       audited=True),
    Op("serve.endpoint_cords", serve_cords.endpoint_cords, "endpoint.read", "somewhere",
       lambda w, _: partial(serve_cords.endpoint_cords)),
    Op("serve.budget_status", serve_spending.budget_status, "endpoint.read", "asset",
       lambda w, tgt: partial(serve_spending.budget_status, endpoint=_endpoint(w, tgt))),
    Op("serve.endpoint_variants", serve_variants.endpoint_variants, "endpoint.read", "asset",
       lambda w, tgt: partial(serve_variants.endpoint_variants, endpoint=_endpoint(w, tgt))),
    Op("serve.sync_deployments", serve_deployments.sync_deployments, "endpoint.deploy", "team",
       lambda w, tgt: partial(serve_deployments.sync_deployments,
                              endpoint=_model_endpoint(w, tgt, moved=True)), audited=True),
    Op("serve.record_violation", serve_violations.record_violation, "endpoint.guard", "asset",
       lambda w, tgt: partial(serve_violations.record_violation, endpoint=_endpoint(w, tgt),
                              kind="pii", detector="email", evidence="j***@e******.com",
                              principal="cal", action="refuse")),
    Op("serve.list_violations", serve_violations.list_violations, "endpoint.read", "asset",
       lambda w, tgt: partial(serve_violations.list_violations, endpoint=_endpoint(w, tgt))),
    Op("serve.list_deployments", serve_deployments.list_deployments, "endpoint.read", "asset",
       lambda w, tgt: partial(serve_deployments.list_deployments,
                              endpoint=_model_endpoint(w, tgt, moved=False))),
    # telemetry
    Op("telemetry.telemetry_settings", telemetry.telemetry_settings, "telemetry.read", "team",
       lambda w, tgt: partial(telemetry.telemetry_settings, team=tgt)),
    Op("telemetry.set_sampling", telemetry.set_sampling, "telemetry.sampling", "team",
       lambda w, tgt: partial(telemetry.set_sampling, team=tgt, document={"policies": [
           {"name": w.fresh("p"), "type": "always_sample"}]}), audited=True),
    Op("telemetry.set_unmasked", telemetry.set_unmasked, "telemetry.unmask", "team",
       lambda w, tgt: partial(telemetry.set_unmasked, team=tgt, keys=[w.fresh("user.email")],
                              reason="support answers customers by mail"), audited=True),
    Op("telemetry.set_budget", telemetry.set_budget, "telemetry.sampling", "team",
       lambda w, tgt: partial(telemetry.set_budget, team=tgt,
                              budget={"bytes_per_day": 1000 + int(w.fresh("b")[2:])}, reason="m"),
       audited=True),
    Op("telemetry.budget_status", telemetry.budget_status, "telemetry.read", "team",
       lambda w, tgt: partial(telemetry.budget_status, team=tgt)),
    Op("telemetry.set_tags", telemetry.set_tags, "telemetry.sampling", "team",
       lambda w, tgt: partial(telemetry.set_tags, team=tgt, document={"tags": [w.fresh("k")]},
                              reason="tags a dashboard reads"), audited=True),
    Op("telemetry.cardinality_report", telemetry.cardinality_report, "telemetry.read", "team",
       lambda w, tgt: partial(telemetry.cardinality_report, team=tgt,
                              since=datetime.now(UTC).date())),
    Op("telemetry.ingest", telemetry.ingest, "telemetry.write", "team",
       lambda w, tgt: partial(telemetry.ingest, team=tgt, signal="spans",
                              table=telemetry_rows.spans([{"trace": 1, "span": 1}], tgt))),
    Op("telemetry.writable_teams", telemetry.writable_teams, "telemetry.write", "somewhere",
       lambda w, _: partial(telemetry.writable_teams)),
    Op("telemetry.readable_teams", telemetry.readable_teams, "telemetry.read", "somewhere",
       lambda w, _: partial(telemetry.readable_teams)),
    Op("telemetry.query", telemetry.query, "telemetry.read", "somewhere",
       lambda w, _: partial(telemetry.query, sql="SELECT count(*) FROM spans")),
    Op("telemetry.sampling_report", telemetry.sampling_report, "telemetry.read", "somewhere",
       lambda w, _: partial(telemetry.sampling_report)),
    Op("telemetry.retain", telemetry.retain, "telemetry.retain", "team",
       lambda w, tgt: partial(telemetry.retain, team=tgt, today=date(2026, 11, 23)),
       audited=True),
    # the board
    Op("board.board", board.board, "status.read", "somewhere",
       lambda w, _: partial(board.board)),
]
# fmt: on
OP_BY_LABEL = {op.label: op for op in OPERATIONS}
CELLS = [(op, target) for op in OPERATIONS for target in op.targets]


def expected(scenario: Scenario, op: Op, target: str) -> bool:
    """Whether the actor of ``scenario`` may run ``op`` on ``target``, from PERMISSIONS."""
    if op.action is None:
        return True
    if scenario.role is None or scenario.scope is None:
        return False
    if not set(op.actions) <= scoped_actions(scenario.role, scenario.scope):
        return False
    if scenario.scope == "global" or op.check == "somewhere":
        return True
    if op.check == "global":
        return False
    team, asset = TARGETS[target]
    if scenario.scope == "team":
        return team == "home"
    return asset == "A1"


# (scenario, operation, target, allowed?) written out by hand, not derived.
HAND: list[tuple[str, str, str, bool]] = [
    ("nobody", "auth.whoami", "-", True),
    ("nobody", "auth.create_token[self]", "-", True),
    ("nobody", "auth.revoke_token[self]", "-", True),
    ("nobody", "auth.list_teams", "-", False),
    ("nobody", "board.board", "-", False),
    ("viewer@global", "auth.list_principals", "-", True),
    ("viewer@global", "audit.list_entries", "-", True),
    ("viewer@global", "auth.create_team", "-", False),
    ("viewer@global", "auth.add_member", "home", False),
    ("viewer@global", "audit.verify", "-", False),
    ("viewer@global", "auth.create_token[other]", "-", False),
    ("viewer@team", "auth.get_team", "home", True),
    ("viewer@team", "auth.get_team", "away", False),
    ("viewer@team", "auth.list_teams", "-", True),
    ("viewer@team", "auth.list_principals", "-", False),
    ("viewer@team", "audit.list_entries", "-", False),
    ("viewer@asset", "auth.get_team", "home", False),
    ("viewer@asset", "auth.list_assets", "-", True),
    ("agent@global", "events.list_events", "-", True),
    ("agent@global", "auth.create_principal", "-", False),
    ("agent@global", "auth.register_asset", "home", False),
    ("agent@global", "auth.set_rotation", "home", False),
    ("contributor@global", "auth.register_asset", "away", True),
    ("contributor@team", "auth.register_asset", "home", True),
    ("contributor@team", "auth.register_asset", "away", False),
    ("contributor@team", "auth.set_rotation", "home", False),
    ("contributor@asset", "auth.register_asset", "home", False),
    ("data-steward@team", "auth.register_asset", "home", True),
    ("data-steward@global", "audit.verify", "-", False),
    ("approver@global", "auth.register_asset", "home", False),
    ("approver@global", "auth.set_escalation", "home", False),
    ("approver@global", "auth.get_team", "away", True),
    ("risk-owner@global", "audit.verify", "-", True),
    ("risk-owner@global", "auth.set_escalation", "away", True),
    ("risk-owner@global", "auth.set_rotation", "home", False),
    ("risk-owner@team", "auth.set_escalation", "home", True),
    ("risk-owner@team", "auth.set_escalation", "away", False),
    ("risk-owner@team", "audit.verify", "-", False),
    ("platform-admin@global", "auth.create_team", "-", True),
    ("platform-admin@global", "auth.bind_role[global]", "-", True),
    ("platform-admin@global", "auth.create_token[other]", "-", True),
    ("platform-admin@global", "audit.verify", "-", True),
    ("platform-admin@team", "auth.bind_role[global]", "-", False),
    ("platform-admin@team", "auth.bind_role[team]", "home", True),
    ("platform-admin@team", "auth.bind_role[team]", "away", False),
    ("platform-admin@team", "auth.bind_role[asset]", "A2", True),
    ("platform-admin@team", "auth.bind_role[asset]", "B1", False),
    ("platform-admin@team", "auth.unbind_role[global]", "-", False),
    ("platform-admin@team", "auth.unbind_role[team]", "home", True),
    ("platform-admin@team", "auth.create_team", "-", False),
    ("platform-admin@team", "auth.create_principal", "-", False),
    ("platform-admin@team", "auth.create_token[other]", "-", False),
    ("platform-admin@team", "auth.revoke_token[other]", "-", False),
    ("platform-admin@team", "auth.add_member", "home", True),
    ("platform-admin@team", "auth.add_member", "away", False),
    ("platform-admin@asset", "auth.bind_role[asset]", "A1", True),
    ("platform-admin@asset", "auth.bind_role[asset]", "A2", False),
    ("platform-admin@asset", "auth.bind_role[team]", "home", False),
    ("platform-admin@asset", "auth.unbind_role[asset]", "A1", True),
    ("platform-admin@asset", "auth.unbind_role[asset]", "B1", False),
    ("team-owner", "auth.add_member", "home", True),
    ("team-owner", "auth.remove_member", "home", True),
    ("team-owner", "auth.set_rotation", "home", True),
    ("team-owner", "auth.add_member", "away", False),
    ("team-owner", "auth.set_rotation", "away", False),
    ("team-owner", "auth.set_escalation", "home", False),
    ("team-owner", "auth.bind_role[team]", "home", False),
    ("team-owner", "auth.register_asset", "home", False),
    ("team-owner", "auth.list_teams", "-", True),
    ("team-owner", "auth.list_principals", "-", False),
    ("viewer@global", "registry.register_model", "home", False),
    ("viewer@global", "registry.get_version", "B1", True),
    ("viewer@asset", "registry.get_version", "A1", True),
    ("viewer@asset", "registry.get_version", "A2", False),
    ("viewer@team", "registry.list_runs", "-", True),
    ("contributor@team", "registry.register_model", "home", True),
    ("contributor@team", "registry.register_model", "away", False),
    ("contributor@team", "registry.create_run", "away", False),
    ("contributor@asset", "registry.set_alias", "A1", True),
    ("contributor@asset", "registry.set_alias", "A2", False),
    ("contributor@global", "registry.register_model[trust]", "home", False),
    ("platform-admin@global", "registry.register_model[trust]", "away", True),
    ("platform-admin@team", "registry.register_model[trust]", "home", True),
    ("approver@global", "registry.set_alias", "A1", False),
    ("agent@global", "registry.end_run", "home", False),
    ("team-owner", "registry.get_run", "home", False),
    ("nobody", "lineage.graph", "-", False),
    # policy
    ("risk-owner@team", "policy.apply_policy", "home", True),
    ("risk-owner@team", "policy.apply_policy", "away", False),
    ("contributor@global", "policy.apply_policy", "home", False),
    ("approver@global", "policy.apply_policy", "home", False),
    ("viewer@team", "policy.get_policy", "home", True),
    ("contributor@team", "promotion.promote", "A2", True),
    ("contributor@team", "promotion.promote", "B1", False),
    ("approver@global", "promotion.promote", "A1", False),
    ("risk-owner@global", "promotion.promote", "A1", False),
    ("approver@team", "approvals.decide_approval", "A2", True),
    ("approver@team", "approvals.decide_approval", "B1", False),
    ("risk-owner@asset", "approvals.decide_approval", "A1", True),
    ("contributor@global", "approvals.decide_approval", "A1", False),
    ("platform-admin@global", "approvals.decide_approval", "A1", False),
    ("data-steward@team", "cord.pull_cord", "A2", True),
    ("viewer@global", "cord.pull_cord", "A1", False),
    ("agent@global", "cord.pull_cord", "A1", False),
    ("contributor@team", "cord.release_cord", "A1", False),
    ("risk-owner@asset", "cord.release_cord", "A1", True),
    ("risk-owner@global", "promotion.rollback", "B1", True),
    ("approver@global", "promotion.rollback", "B1", False),
    ("data-steward@team", "catalog.accept_proposal", "A1", True),
    ("data-steward@team", "catalog.accept_proposal", "B1", False),
    ("data-steward@asset", "catalog.classify_dataset", "A1", True),
    ("data-steward@asset", "catalog.classify_dataset", "A2", False),
    ("platform-admin@global", "catalog.classify_dataset", "A1", False),
    ("platform-admin@global", "catalog.reject_proposal", "A1", False),
    ("contributor@global", "catalog.accept_proposal", "A1", False),
    ("viewer@asset", "profile.profile_dataset", "A1", True),
    ("viewer@asset", "profile.profile_dataset", "A2", False),
    ("data-steward@team", "approvals.approve_version", "home", True),
    ("data-steward@team", "approvals.approve_version", "away", False),
    ("data-steward@asset", "approvals.reject_version", "home", False),
    ("contributor@global", "approvals.approve_version", "home", False),
    ("platform-admin@global", "approvals.approve_version", "home", False),
    ("viewer@team", "approvals.list_schema_changes", "-", True),
    ("viewer@team", "lineage.openlineage_events", "-", False),
    # evaluation harness
    ("contributor@team", "evaluate.run_evaluation", "A2", True),
    ("contributor@team", "evaluate.run_evaluation", "B1", False),
    ("contributor@asset", "evaluate.run_evaluation", "A1", True),
    ("contributor@asset", "evaluate.run_evaluation", "A2", False),
    ("platform-admin@global", "evaluate.run_evaluation", "B1", True),
    ("data-steward@global", "evaluate.run_evaluation", "A1", False),
    ("approver@global", "evaluate.run_evaluation", "A1", False),
    ("risk-owner@global", "evaluate.run_evaluation", "A1", False),
    ("viewer@global", "evaluate.run_evaluation", "A1", False),
    ("viewer@global", "evaluate.get_evaluation", "B1", True),
    ("approver@team", "evaluate.list_evaluations", "A2", True),
    ("viewer@asset", "evaluate.get_evaluation", "A2", False),
    ("nobody", "reader.read_version", "A1", False),
    ("viewer@asset", "reader.read_version", "A1", True),
    # Only the gateway's role records guard violations; the admin reads them but cannot forge one.
    ("gateway@global", "serve.record_violation", "B1", True),
    ("gateway@team", "serve.record_violation", "A2", True),
    ("gateway@team", "serve.record_violation", "B1", False),
    ("platform-admin@global", "serve.record_violation", "A1", False),
    ("contributor@global", "serve.record_violation", "A1", False),
    ("gateway@global", "serve.list_violations", "A1", False),
    ("gateway@global", "serve.pull_endpoint_cord", "A1", False),
    ("viewer@asset", "serve.list_violations", "A1", True),
    ("caller@global", "serve.list_violations", "B1", True),
]


# --------------------------------------------------------------------------- running a cell


def audit_count(ctx: Context) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(audit_tables.AuditEntry)) or 0)


def snapshot(ctx: Context) -> dict[str, list[str]]:
    """Every row of every table, as text: denied calls must leave this unchanged."""
    with ctx.db.read() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
            for table in base_tables.Base.metadata.sorted_tables
        }


_OBSERVERS: dict[str, sqlite3.Connection] = {}


def commits(ctx: Context) -> Callable[[], object]:
    """A probe whose value changes whenever any connection commits to the database.

    On SQLite, ``PRAGMA data_version`` of a connection of the test's own changes when any
    other connection commits (stricter than comparing rows: a write undone by a second write
    is caught too) and costs one call, where reading every row of every table cost 40 % of
    the matrix. PostgreSQL has no such counter, so there the probe is the rows themselves.
    """
    url = ctx.settings.resolved_database_url
    if not url.startswith("sqlite:///"):
        return lambda: snapshot(ctx)
    path = url.removeprefix("sqlite:///")
    observer = _OBSERVERS.get(path)
    if observer is None:
        observer = _OBSERVERS[path] = sqlite3.connect(path, check_same_thread=False)
    return lambda: observer.execute("PRAGMA data_version").fetchone()[0]


def run_cell(world: World, op: Op, target: str) -> None:
    """Arrange as the admin, act as the actor, and check the outcome against ``expected``."""
    call = op.prepare(world, target)
    assert call.func is op.fn, f"{op.label} prepares a call to {call.func.__name__}"
    ctx = as_principal(world.admin, world.actor)
    if expected(world.scenario, op, target):
        before = audit_count(world.admin)
        call(ctx)  # a Forbidden here fails the cell
        assert audit_count(world.admin) == before + (1 if op.audited else 0)
    else:
        probe = commits(world.admin)
        before_rows = probe()
        with pytest.raises(Forbidden):
            call(ctx)
        assert probe() == before_rows, "a denied call changed the database"


def _make_admin(path: Path) -> tuple[Context, Database]:
    settings = Settings(home=path / "home", database_url=f"sqlite:///{path / 'andon.db'}")
    database = Database.from_settings(settings)
    migrate.upgrade(database)
    clock = FrozenClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    auth.bootstrap(database, settings, "admin", clock=clock)
    return auth.context_for(database, settings, "admin", clock=clock), database


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda s: s.label)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One SQLite installation per scenario, shared by that scenario's cells."""
    admin, database = _make_admin(tmp_path_factory.mktemp("matrix"))
    yield World(admin, request.param)
    database.dispose()
    observer = _OBSERVERS.pop(admin.settings.resolved_database_url.removeprefix("sqlite:///"), None)
    if observer is not None:
        observer.close()


def test_the_commit_probe_sees_every_commit_and_nothing_else(tmp_path: Path) -> None:
    admin, database = _make_admin(tmp_path)
    probe = commits(admin)
    first = probe()
    auth.list_principals(admin)  # a read commits nothing
    assert probe() == first
    auth.create_principal(admin, "carol")
    assert probe() != first
    database.dispose()


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize(
    ("op", "target"),
    CELLS,
    ids=[op.label if target == "-" else f"{op.label}-{target}" for op, target in CELLS],
)
def test_cell(world: World, op: Op, target: str) -> None:
    run_cell(world, op, target)


def _operations(module: ModuleType) -> set[str]:
    """Names of ``module``'s public functions that take a Context."""
    found = set()
    for name, obj in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(obj):
            continue
        if obj.__module__ != module.__name__:
            continue
        params = inspect.signature(obj).parameters.values()
        if any(p.annotation in (Context, "Context") for p in params):
            found.add(f"{module.__name__}.{name}")
    return found


def test_every_operation_is_in_the_table() -> None:
    discovered = set().union(*(_operations(m) for m in SERVICE_MODULES))
    listed = {f"{op.fn.__module__}.{op.fn.__name__}" for op in OPERATIONS}
    assert not discovered - listed, "service operations missing from OPERATIONS"
    assert not listed - discovered, "OPERATIONS lists functions that are not operations"
    # The discovery itself works: a known operation from each module is found.
    assert {
        "andon.auth.bindings.bind_role",
        "andon.audit.service.verify",
        "andon.events.service.ack",
        "andon.board.service.board",
    } <= discovered


def test_every_action_is_checked_or_reserved() -> None:
    checked = {op.action for op in OPERATIONS if op.action is not None}
    assert checked <= ACTIONS
    assert not checked & RESERVED_ACTIONS, "checked now: remove from RESERVED_ACTIONS"
    assert ACTIONS - checked == RESERVED_ACTIONS
    assert all((op.action is None) == (op.check == "self") for op in OPERATIONS)


def test_hand_cells_agree_with_the_derivation() -> None:
    for label, op_label, target, allowed in HAND:
        scenario = SCENARIO_BY_LABEL[label]
        op = OP_BY_LABEL[op_label]
        assert target in op.targets, (label, op_label, target)
        assert expected(scenario, op, target) is allowed, (label, op_label, target)


def test_the_scope_table_agrees_with_how_the_services_check() -> None:
    """``GLOBAL_ONLY`` and ``TEAM_WIDE`` (what ``andon role roles --scope`` reads) say which
    bindings can ever be granted an action: check them against every operation's check."""
    checks: dict[str, set[str]] = {}
    for op in OPERATIONS:
        for action in op.actions:
            checks.setdefault(action, set()).add(op.check)
    for action, kinds in sorted(checks.items()):
        if action in GLOBAL_ONLY:  # no operation a team binding could pass
            assert kinds == {"global"}, action
        else:  # some operation a team binding passes, on its team's objects
            assert kinds & {"team", "asset", "somewhere"}, action
        if action in TEAM_WIDE:  # no operation on one asset's objects
            assert not kinds & {"asset"}, action
        elif action not in GLOBAL_ONLY:  # some operation an asset binding passes
            assert kinds & {"asset", "somewhere"}, action
    assert GLOBAL_ONLY | TEAM_WIDE <= ACTIONS and not GLOBAL_ONLY & TEAM_WIDE


def test_every_role_is_in_the_matrix() -> None:
    assert set(ROLES) | {TEAM_OWNER} == set(PERMISSIONS)
    assert {s.role for s in SCENARIOS} == set(ROLES) | {TEAM_OWNER, None}
    assert TEAM_OWNER not in ROLES, "team-owner comes from ownership, never from a binding"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_each_row_names_the_check_the_service_makes(
    admin: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trace Context.require / require_somewhere while a global admin runs every row."""
    world = World(admin, Scenario("platform-admin", "global"))
    # Separation of duties keeps some actions from platform-admin (approval.decide,
    # data.classify, catalog.decide): give the actor, globally, a role carrying each such
    # action too (approver for approval.decide: the role the policy rows fill).
    missing = {op.action for op in OPERATIONS if op.action} - PERMISSIONS["platform-admin"]
    for role in sorted({next(r for r in ROLES if a in PERMISSIONS[r]) for a in missing}):
        auth.bind_role(admin, world.actor, role)
    seen: list[tuple[str, str, bool, bool]] = []
    require, somewhere = Context.require, Context.require_somewhere

    def traced_require(
        self: Context, action: str, *, team_id: str | None = None, asset_id: str | None = None
    ) -> None:
        seen.append(("require", action, team_id is not None, asset_id is not None))
        require(self, action, team_id=team_id, asset_id=asset_id)

    def traced_somewhere(self: Context, action: str) -> None:
        seen.append(("somewhere", action, False, False))
        somewhere(self, action)

    monkeypatch.setattr(Context, "require", traced_require)
    monkeypatch.setattr(Context, "require_somewhere", traced_somewhere)
    shape = {
        "global": ("require", False, False),
        "team": ("require", True, False),
        "asset": ("require", True, True),
        "somewhere": ("somewhere", False, False),
    }
    for op in OPERATIONS:
        call = op.prepare(world, op.targets[0])
        ctx = as_principal(admin, world.actor)
        seen.clear()
        call(ctx)
        if op.action is None:
            assert seen == [], op.label
            continue
        kind, has_team, has_asset = shape[op.check]
        assert {(kind, a, has_team, has_asset) for a in op.actions} == set(seen), op.label


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("label", "teams", "assets"),
    [
        ("viewer@global", ["away", "home"], ["b1", "a1", "a2"]),
        ("viewer@team", ["home"], ["a1", "a2"]),
        ("viewer@asset", [], ["a1"]),
        ("team-owner", ["home"], ["a1", "a2"]),
    ],
)
def test_listings_show_only_what_the_scope_covers(
    admin: Context, label: str, teams: list[str], assets: list[str]
) -> None:
    world = World(admin, SCENARIO_BY_LABEL[label])
    ctx = as_principal(admin, world.actor)
    if label.endswith("@asset"):  # team.read is team-wide: an asset binding does not carry it
        with pytest.raises(Forbidden):
            auth.list_teams(ctx)
    else:
        assert [team.name for team in auth.list_teams(ctx)] == teams
    assert [a.name for a in auth.list_assets(ctx)] == assets
    scopes = {(b.scope, b.scope_name) for b in auth.list_bindings(ctx)}
    if label == "viewer@global":
        assert ("global", None) in scopes
    elif label == "viewer@team":
        assert scopes == {("team", "home")}
    elif label == "viewer@asset":
        assert scopes == {("asset", "dataset/a1")}
    else:
        assert scopes == set()  # the owner's team has no bindings to show


PG_SAMPLE = ["nobody", "viewer@global", "platform-admin@team", "contributor@asset", TEAM_OWNER]


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("label", PG_SAMPLE)
def test_sample_on_postgresql(admin: Context, label: str) -> None:
    world = World(admin, SCENARIO_BY_LABEL[label])
    failures = []
    for op, target in CELLS:
        try:
            run_cell(world, op, target)
        except (Exception, pytest.fail.Exception) as exc:  # collect every failing cell
            failures.append(f"{op.label} {target}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)
