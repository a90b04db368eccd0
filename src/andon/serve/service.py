"""The serve domain's door: endpoints, their cords, budgets, deployments and guard violations (the gateway
reads :mod:`queries`, meters through :mod:`budgets` and predicts through
:mod:`andon.serve.runtimes`)."""

from __future__ import annotations

import andon.serve.facts  # noqa: F401  (registers the canary and shadow gate facts)
from andon.serve.cords import endpoint_cords, pull_endpoint_cord, release_endpoint_cord
from andon.serve.deployments import list_deployments, sync_deployments
from andon.serve.endpoints import apply_endpoint, get_endpoint, list_endpoints
from andon.serve.spending import budget_status
from andon.serve.variants import endpoint_variants
from andon.serve.violations import list_violations, record_violation

__all__ = [
    "apply_endpoint",
    "budget_status",
    "endpoint_cords",
    "endpoint_variants",
    "get_endpoint",
    "list_deployments",
    "list_endpoints",
    "list_violations",
    "pull_endpoint_cord",
    "record_violation",
    "release_endpoint_cord",
    "sync_deployments",
]
