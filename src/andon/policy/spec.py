"""Stage policies as written (YAML) and as stored (a checked, plain-data spec).

A policy names a team (and optionally one model) and, per stage, the alias the stage moves,
the gate, the approval roles, how long a request stays open, and the rollback rule::

    team: fraud-ml
    model: fraud-detector          # optional: this model only (else every model of the team)
    stages:
      production:
        alias: champion            # default: champion for production, challenger for staging
        gate: eval.f1 >= champion.f1 - 0.01 && data.checks.passed && card.complete
        approvals: [approver, risk-owner]
        expires: 72h               # s, m, h or d; default 72h, at most 30d
        rollback:
          when: slo.p95_ms > 120 || drift.status == 'red'
          for: 10m                 # the condition must hold this long

Every gate and rollback rule is compiled and type-checked here, so a bad policy is refused
when it is applied, never when it runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from andon.core.errors import Invalid
from andon.core.permissions import PERMISSIONS, ROLES
from andon.core.yaml_limits import load_bounded
from andon.policy.facts import GATE_FACTS, MONITOR_FACTS
from andon.policy.gates import Gate, compile_gate

_STAGE = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")
_DURATION = re.compile(r"^(\d{1,6})\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_ALIAS = {"production": "champion", "staging": "challenger"}
DEFAULT_EXPIRY = "72h"
MAX_EXPIRY = timedelta(days=30)
DECIDING_ROLES = tuple(role for role in ROLES if "approval.decide" in PERMISSIONS[role])
"""Roles that may fill an approval (they carry ``approval.decide``)."""


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage of a policy, checked."""

    name: str
    alias: str
    gate: str
    approvals: tuple[str, ...]
    expires_seconds: int
    rollback_when: str | None
    rollback_for_seconds: int | None

    def compiled_gate(self) -> Gate:
        """The gate, compiled against the gate facts."""
        return compile_gate(self.gate, GATE_FACTS, field=f"stages.{self.name}.gate")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (what is stored)."""
        return {
            "alias": self.alias,
            "gate": self.gate,
            "approvals": list(self.approvals),
            "expires_seconds": self.expires_seconds,
            "rollback": (
                {"when": self.rollback_when, "for_seconds": self.rollback_for_seconds}
                if self.rollback_when
                else None
            ),
        }

    @classmethod
    def from_dict(cls, name: str, raw: dict[str, Any]) -> Stage:
        """A stage as stored by :meth:`as_dict`."""
        rollback = raw.get("rollback") or {}
        return cls(
            name,
            raw["alias"],
            raw["gate"],
            tuple(raw["approvals"]),
            int(raw["expires_seconds"]),
            rollback.get("when"),
            rollback.get("for_seconds"),
        )


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """A whole policy, checked."""

    team: str
    model: str | None
    stages: dict[str, Stage]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (what is stored)."""
        return {
            "team": self.team,
            "model": self.model,
            "stages": {name: stage.as_dict() for name, stage in self.stages.items()},
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PolicySpec:
        """A policy as stored by :meth:`as_dict`."""
        stages = {name: Stage.from_dict(name, s) for name, s in raw["stages"].items()}
        return cls(raw["team"], raw.get("model"), stages)


def duration_seconds(value: Any, field: str) -> int:
    """``"72h"`` -> 259200; refuses anything but a whole number of s, m, h or d."""
    match = _DURATION.match(str(value).strip()) if isinstance(value, str | int) else None
    if match is None:
        raise Invalid(f"'{value}' is not a duration such as 30m, 72h or 7d", field=field)
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise Invalid("must be longer than zero", field=field)
    return seconds


def parse_policy(text: str) -> PolicySpec:
    """Parse and check a policy YAML document; :class:`Invalid` names the field at fault."""
    import yaml  # type: ignore[import-untyped]

    try:
        raw = load_bounded(text, source="the policy")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise Invalid(f"{where}not valid YAML", field="policy") from None
    if not isinstance(raw, dict):
        raise Invalid("must be a mapping with team and stages", field="policy")
    unknown = sorted(set(raw) - {"team", "model", "stages", "description"})
    if unknown:
        raise Invalid(f"unknown keys {', '.join(map(str, unknown))}", field="policy")
    team = raw.get("team")
    if not isinstance(team, str) or not team:
        raise Invalid("must name the team the policy belongs to", field="team")
    model = raw.get("model")
    if model is not None and (not isinstance(model, str) or not _NAME.match(model)):
        raise Invalid(f"'{model}' is not a model name", field="model")
    stages = raw.get("stages")
    if not isinstance(stages, dict) or not stages:
        raise Invalid("must map at least one stage name to its rules", field="stages")
    parsed = {str(name): _stage(str(name), body) for name, body in stages.items()}
    aliases = [s.alias for s in parsed.values()]
    if len(set(aliases)) != len(aliases):
        raise Invalid("two stages move the same alias", field="stages")
    return PolicySpec(team, model, parsed)


def _stage(name: str, body: Any) -> Stage:
    where = f"stages.{name}"
    if not _STAGE.match(name):
        raise Invalid("a stage name starts with a-z and uses a-z 0-9 _ -", field=where)
    if not isinstance(body, dict):
        raise Invalid("must be a mapping with gate, approvals, expires, rollback", field=where)
    unknown = sorted(set(body) - {"alias", "gate", "approvals", "expires", "rollback"})
    if unknown:
        raise Invalid(f"unknown keys {', '.join(map(str, unknown))}", field=where)
    alias = body.get("alias", DEFAULT_ALIAS.get(name, name))
    if not isinstance(alias, str) or not _STAGE.match(alias):
        raise Invalid(f"'{alias}' is not an alias name", field=f"{where}.alias")
    gate = body.get("gate")
    if gate is None:
        raise Invalid("every stage needs a gate (write `true` for none)", field=f"{where}.gate")
    compile_gate(str(gate), GATE_FACTS, field=f"{where}.gate")
    approvals = body.get("approvals", [])
    if not isinstance(approvals, list) or not all(isinstance(a, str) for a in approvals):
        raise Invalid("must be a list of roles", field=f"{where}.approvals")
    for role in approvals:
        if role not in DECIDING_ROLES:
            raise Invalid(
                f"'{role}' cannot decide approvals; use {' or '.join(DECIDING_ROLES)}",
                field=f"{where}.approvals",
            )
    if len(set(approvals)) != len(approvals):
        raise Invalid("name each role once", field=f"{where}.approvals")
    expires = duration_seconds(body.get("expires", DEFAULT_EXPIRY), f"{where}.expires")
    if expires > MAX_EXPIRY.total_seconds():
        raise Invalid("at most 30d", field=f"{where}.expires")
    when, hold = _rollback(body.get("rollback"), where)
    return Stage(name, alias, str(gate), tuple(approvals), expires, when, hold)


def _rollback(raw: Any, where: str) -> tuple[str | None, int | None]:
    if raw is None:
        return None, None
    if isinstance(raw, str):
        raw = {"when": raw}
    if not isinstance(raw, dict) or set(raw) - {"when", "for"} or "when" not in raw:
        raise Invalid("must be a rule, or a mapping with when and for", field=f"{where}.rollback")
    when = str(raw["when"])
    compile_gate(when, MONITOR_FACTS, field=f"{where}.rollback.when")
    hold = raw.get("for")
    return when, duration_seconds(hold, f"{where}.rollback.for") if hold is not None else None
