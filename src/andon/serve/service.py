"""The serve domain's door: endpoints, their cords and budgets (the gateway reads
:mod:`queries` and meters through :mod:`budgets`)."""

from __future__ import annotations

from andon.serve.cords import endpoint_cords, pull_endpoint_cord, release_endpoint_cord
from andon.serve.endpoints import apply_endpoint, get_endpoint, list_endpoints
from andon.serve.spending import budget_status

__all__ = [
    "apply_endpoint",
    "budget_status",
    "endpoint_cords",
    "get_endpoint",
    "list_endpoints",
    "pull_endpoint_cord",
    "release_endpoint_cord",
]
