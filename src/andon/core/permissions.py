"""Roles and the permission table: pure data, no database.

A role binding grants a role at a scope: everywhere (``global``), one team, or one asset.
A check asks for an action on an object that belongs to a team (and may be an asset); a
binding matches when its scope is global, that team, or that asset. What a binding grants
depends on its scope as well (:func:`scoped_actions`, which ``andon role roles --scope``
prints): actions on platform-wide objects (:data:`GLOBAL_ONLY`, e.g. ``audit.verify``) come
only from a global binding, actions on a team as a whole (:data:`TEAM_WIDE`) not from an asset
binding, since no object inside a narrower scope exists for them. Services do the checks
(``Context.require``), so the CLI, the API, the console and the agent cannot go around them;
``tests/auth/test_permission_matrix.py`` runs every service operation against every role.

Why each role carries what it carries (least privilege; ask "what does this person need to
do their job", never "what might be handy"):

``viewer``
    Reads everything its scope covers, the audit log and the outbox included: an audit log
    only deters when people can read it. No writes. Stage policies and approval requests
    are read with ``policy.read``, which every reader of models carries.
``agent``
    Exactly ``viewer``. An agent principal never writes on its own authority: the agent
    issue adds approval-gated tools, where a human with the right role approves each write.
``contributor``
    Registers the assets its team owns (datasets, models, endpoints), tracks runs, registers
    model versions, moves aliases and writes the narrative of its models' cards (``model.card``:
    the people who built a model say what it is for and where it fails). For data: applies
    its team's contracts (``contract.apply``), runs their checks (``check.run``) and records
    dataset versions (``dataset.snapshot``). Every role reads contracts and datasets in its
    scope (``contract.read``, ``dataset.read``). Evaluates the models it owns (``eval.run``:
    scores a version and the champion on a dataset version and stores the report), since
    whoever trains a challenger must be able to show how it compares. For the line it owns it
    checks gates (``gate.check``: stores a decision, changes nothing else), asks for approvals
    (``approval.request``), promotes (``model.promote``: only once the gate passes and other
    people approved) and rolls back (``model.rollback``: back to a version that was approved
    before). It declares the gateway endpoints its team serves (``endpoint.apply``) and calls
    them (``endpoint.invoke``). It sends its team's telemetry (``telemetry.write``: spans,
    metrics and logs over OTLP) and sets which traces the team keeps (``telemetry.sampling``:
    the tail-sampling document, and the team's telemetry budget in bytes per day). It may pull the
    andon cord (``cord.pull``) but not release it.
``data-steward``
    Registers assets, approves data contracts (``contract.approve``: decides a contract
    version whose schema change breaks, pending until then; never one it applied itself),
    classifies fields (``data.classify``: runs the classifier, stores its tags and proposes
    catalog metadata) and decides those proposals (``catalog.decide``: accepting one writes a
    new contract version, so it is held by the steward alone, not by contributors who apply
    contracts, nor by ``platform-admin``: what is personal data is a stewardship call, and
    keeping the decision with one role keeps the audit trail's "who decided" meaningful).
    For the same reason it alone sets which telemetry attributes are stored unmasked
    (``telemetry.unmask``: the team's allow-list; every other value the classifiers see as
    personal is masked at intake).
    Applies contracts, runs checks and snapshots datasets like a contributor. It does not
    approve model promotions: that is ``approver``'s. Nor does it run model evaluations
    (``eval.run``): the evidence for a model is produced by the people who own the model, and
    read by everyone else. It may pull the andon cord (``cord.pull``): bad data is a reason
    to stop the line.
``approver``
    Decides approvals (``approval.decide``: the four-eyes sign-off on promotions), checks
    gates to see the evidence first-hand (``gate.check``) and may pull the andon cord
    (``cord.pull``). Nothing else: an approver who could also change the things it approves
    (policies, aliases, promotions) would be approving its own work; for the same reason it
    reads evaluations but does not run them (``eval.run``), so it never produces the evidence
    it signs off.
``risk-owner``
    Decides approvals (a gate may require a ``risk-owner`` among its approvers), verifies
    the audit chain and anchors its head (``audit.anchor``), and sets escalation ladders (it is the last rung of every ladder, so
    it must be able to keep that rung current). It owns the risk controls: writes stage
    policies (``policy.apply``: gates, required approvals, rollback rules), checks gates,
    rolls back (``model.rollback``), and pulls and releases the andon cord (``cord.pull``,
    ``cord.release``). It does not promote: the team promotes, the risk-owner approves.
``caller``
    An application's service principal that sends traffic through the gateway: reads the
    endpoints in its scope (``endpoint.read``) and calls them (``endpoint.invoke``). Nothing
    else: a key an application holds must not be able to change what it calls. It also sends
    the application's own traces, metrics and logs (``telemetry.write``) to its team.
``gateway``
    The role of the gateway's own ``gateway`` service principal (created and bound globally
    when ``andon gateway`` starts): records the answers endpoints' output guards refused
    (``endpoint.guard``), and as part of that operation pulls an endpoint's cord when its
    ``guards.trip`` count is reached (jidoka, audited as ``cord.pull`` by ``gateway``).
    Nothing else, not even reads: it cannot pull any other cord, release one, or call
    endpoints, so the worker processes holding it can stop a line only on evidence.
``platform-admin``
    Runs the platform: principals, teams, rotations, ladders, role bindings, tokens, audit
    verification and anchoring, the data roots teams' contracts may read (``data_root.manage``),
    the telemetry retention job (``telemetry.retain``: moves a team's old days to the cold tier
    and deletes expired ones), and outbox consumers (``events.consume``: moving a consumer's cursor makes
    it skip events, so reading the outbox is not enough). It applies stage policies, checks
    gates, requests approvals, promotes, rolls back, and pulls and releases cords, so it can
    operate the line in an incident; it still cannot approve, so no promotion passes without
    two other people. Deliberately *not* ``approval.decide``, ``contract.approve``,
    ``data.classify`` or ``catalog.decide``: separation of duties. An admin could bind itself
    ``approver``, so the services refuse self-binding (see below) and every binding is
    audited. It also carries the contributor's registry and evaluation writes (``eval.run``
    included) so one operator can run the sample line and re-run an evaluation a team asks for.

``team-owner`` is not a bindable role (it is not in :data:`ROLES`): every owner of a team
holds it implicitly at that team's scope, with :data:`PERMISSIONS` saying what it allows.
Owners may keep their own team current (members, owners, on-call rotations) without asking
an admin, and read their team; they cannot bind roles (owning a team must not become a way
to grant oneself ``platform-admin`` in it), register assets (that is ``contributor``'s) or
change the escalation ladder (its platform and risk rungs are not the team's to change).

Rules that are not a single action, enforced in ``andon.auth.service``:

* Granting at a scope needs ``binding.create`` *at that scope*: a team-scoped
  ``platform-admin`` can grant within its team (and on that team's assets) but never a
  global binding, nor in another team.
* Nobody binds a role to themselves: widening one's own access takes a second person.
* The last enabled global ``platform-admin`` cannot be disabled or unbound (nobody could
  administer the platform afterwards, and ``bootstrap`` only runs on an empty database).
* Anyone may create, list and revoke *their own* tokens (a token carries exactly its
  principal's grants, so this widens nothing); for another principal it takes
  ``token.create`` / ``token.revoke`` / ``principal.read``, all global.
* Tokens of a disabled principal stop working at once: authentication checks the
  principal on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from andon.core.records import published

ScopeKind = Literal["global", "team", "asset"]

ROLES: tuple[str, ...] = (
    "viewer",
    "contributor",
    "data-steward",
    "approver",
    "risk-owner",
    "agent",
    "caller",
    "gateway",
    "platform-admin",
)
"""The roles a binding can grant."""

TEAM_OWNER = "team-owner"
"""The implicit role every owner of a team holds at that team's scope (never bound)."""

_READ = frozenset(
    {
        "team.read",
        "principal.read",
        "binding.read",
        "asset.read",
        "audit.read",
        "events.read",
        "status.read",
        "telemetry.read",
    }
)
_REGISTRY_READ = frozenset(
    {"run.read", "model.read", "lineage.read", "policy.read", "endpoint.read"}
)
# Declaring the endpoints a team serves (gateway YAML), recording the model versions they
# start serving (deployments), and calling them.
_SERVE = frozenset({"endpoint.apply", "endpoint.deploy", "endpoint.invoke"})
_REGISTRY_WRITE = frozenset({"run.create", "model.register", "model.alias", "model.card"})
# Scoring a model version (and its champion) with a suite and storing the report.
_EVAL_RUN = frozenset({"eval.run"})
# Registering a pickle or joblib artifact runs arbitrary code on load: platform-admin only.
_TRUST_PICKLE = frozenset({"model.trust_pickle"})
_DATA_READ = frozenset({"contract.read", "dataset.read"})
# Applying contracts, running checks and snapshotting datasets within the team scope.
_DATA_WRITE = frozenset({"contract.apply", "check.run", "dataset.snapshot"})
# Shipping a model the team owns: gate checks, approval requests, promotion, rollback.
_SHIP = frozenset({"gate.check", "approval.request", "model.promote", "model.rollback"})
# Sending the team's spans, metrics and logs, and choosing which traces it keeps.
_TELEMETRY = frozenset({"telemetry.write", "telemetry.sampling"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": _READ | _REGISTRY_READ | _DATA_READ,
    "agent": _READ | _REGISTRY_READ | _DATA_READ,
    "contributor": _READ
    | _REGISTRY_READ
    | _REGISTRY_WRITE
    | _EVAL_RUN
    | _DATA_READ
    | _DATA_WRITE
    | _SHIP
    | _SERVE
    | _TELEMETRY
    | {"asset.register", "cord.pull"},
    "data-steward": _READ
    | _REGISTRY_READ
    | _DATA_READ
    | _DATA_WRITE
    | {
        "asset.register",
        "contract.approve",
        "data.classify",
        "catalog.decide",
        "cord.pull",
        "telemetry.unmask",
    },
    "approver": _READ
    | _REGISTRY_READ
    | _DATA_READ
    | {"approval.decide", "gate.check", "cord.pull"},
    "risk-owner": _READ
    | _REGISTRY_READ
    | _DATA_READ
    | {
        "approval.decide",
        "audit.verify",
        "audit.anchor",
        "team.escalation",
        "policy.apply",
        "gate.check",
        "model.rollback",
        "cord.pull",
        "cord.release",
    },
    "platform-admin": _READ
    | _REGISTRY_READ
    | _REGISTRY_WRITE
    | _EVAL_RUN
    | _TRUST_PICKLE
    | _DATA_READ
    | _DATA_WRITE
    | _SHIP
    | _SERVE
    | _TELEMETRY
    | {
        "telemetry.retain",
        "policy.apply",
        "cord.pull",
        "cord.release",
        "team.create",
        "team.update",
        "team.oncall",
        "team.escalation",
        "principal.create",
        "principal.disable",
        "binding.create",
        "binding.delete",
        "token.create",
        "token.revoke",
        "asset.register",
        "audit.verify",
        "audit.anchor",
        "data_root.manage",
        "events.consume",
        "connection.manage",
    },
    "caller": frozenset({"endpoint.read", "endpoint.invoke", "telemetry.write"}),
    "gateway": frozenset({"endpoint.guard"}),
    TEAM_OWNER: frozenset(
        {"team.read", "asset.read", "binding.read", "team.update", "team.oncall"}
    ),
}
"""What each role (and the implicit ``team-owner``) may do."""

GLOBAL_ONLY: frozenset[str] = frozenset(
    {
        "principal.create",
        "principal.disable",
        "principal.read",
        "team.create",
        "token.create",
        "token.revoke",
        "audit.read",
        "audit.verify",
        "audit.anchor",
        "data_root.manage",
        "events.read",
        "events.consume",
        "connection.manage",
    }
)
"""Actions on platform-wide objects: principals, new teams, other principals' tokens, the one
audit chain and the outbox. No team or asset owns them, so only a *global* binding carries
them; a team or asset binding of a role that lists one does not (``andon role roles --scope``
says so)."""

TEAM_WIDE: frozenset[str] = frozenset(
    {
        "team.read",
        "team.update",
        "team.oncall",
        "team.escalation",
        "asset.register",
        "contract.read",
        "contract.apply",
        "contract.approve",
        "check.run",
        "run.create",
        "run.read",
        "policy.apply",
        "endpoint.apply",
        "endpoint.deploy",
        "telemetry.read",
        "telemetry.write",
        "telemetry.sampling",
        "telemetry.unmask",
        "telemetry.retain",
    }
)
"""Actions on what a team owns as a whole (its members, rotations, contracts, runs, stage
policies, new assets): a global or team binding carries them, an asset binding does not.
Every other action applies to one asset's objects too, so an asset binding carries it there."""

SCOPES: tuple[ScopeKind, ...] = ("global", "team", "asset")


def scoped_actions(role: str, scope: ScopeKind) -> frozenset[str]:
    """What a binding of ``role`` at ``scope`` grants: the one table both the permission check
    and ``andon role roles`` read (none for an unknown role)."""
    actions = PERMISSIONS.get(role, frozenset())
    if scope == "global":
        return actions
    if scope == "team":
        return actions - GLOBAL_ONLY
    return actions - GLOBAL_ONLY - TEAM_WIDE


RESERVED_ACTIONS: frozenset[str] = frozenset({"endpoint.invoke"})
"""Actions roles carry for operations no service checks yet (``endpoint.invoke``: the
gateway's hot path checks it per request, outside the service operations). A later issue that
grants an action before its operation exists lists it here until a service checks it (the
permission matrix test insists every action is either checked by an operation or listed)."""

ACTIONS: frozenset[str] = frozenset().union(*PERMISSIONS.values())
"""Every action any role carries."""


@published
@dataclass(frozen=True, slots=True)
class Grant:
    """A role held at a scope."""

    role: str
    scope: ScopeKind
    scope_id: str | None = None

    def covers(self, team_id: str | None, asset_id: str | None) -> bool:
        """Whether this grant's scope contains an object of ``team_id`` / ``asset_id``."""
        if self.scope == "global":
            return True
        if self.scope == "team":
            return team_id is not None and self.scope_id == team_id
        return asset_id is not None and self.scope_id == asset_id

    @property
    def actions(self) -> frozenset[str]:
        """The actions this grant carries: its role's, at its scope (see :func:`scoped_actions`)."""
        return scoped_actions(self.role, self.scope)


def allows(
    grants: tuple[Grant, ...], action: str, team_id: str | None, asset_id: str | None
) -> bool:
    """Whether any grant permits ``action`` on an object in the given team / asset."""
    return any(action in g.actions and g.covers(team_id, asset_id) for g in grants)


def allows_somewhere(grants: tuple[Grant, ...], action: str) -> bool:
    """Whether any grant, at any scope, carries ``action`` (listings then filter by scope)."""
    return any(action in g.actions for g in grants)
