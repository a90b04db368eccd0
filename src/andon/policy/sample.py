"""The sample stage policy of the demo line (fraud-ml): production gate, four eyes, rollback."""

from __future__ import annotations

SAMPLE_GATE = (
    "eval.f1 >= champion.f1 - 0.01 && eval.latency_p95_ms <= 120 "
    "&& eval.bias.demographic_parity_diff <= 0.1 && data.checks.passed && card.complete"
)


def sample_policy(team: str = "fraud-ml") -> str:
    """A stage policy YAML for ``team``: staging needs the gate only; production needs the
    gate, an approver and a risk-owner, and rolls back on slow or drifting service."""
    return f"""# Stage policy of the {team} line (andon policy apply)
team: {team}
stages:
  staging:
    alias: challenger
    gate: eval.f1 >= champion.f1 - 0.05 && data.checks.passed
  production:
    alias: champion
    gate: >-
      {SAMPLE_GATE}
    approvals: [approver, risk-owner]
    expires: 72h
    rollback:
      when: slo.p95_ms > 120 || drift.status == 'red'
      for: 10m
"""
