"""The serve domain's door: endpoints, their cords and deployments (the gateway reads
:mod:`queries` and predicts through :mod:`andon.serve.runtimes`)."""

from __future__ import annotations

from andon.serve.cords import endpoint_cords, pull_endpoint_cord, release_endpoint_cord
from andon.serve.deployments import list_deployments, sync_deployments
from andon.serve.endpoints import apply_endpoint, get_endpoint, list_endpoints

__all__ = [
    "apply_endpoint",
    "endpoint_cords",
    "get_endpoint",
    "list_deployments",
    "list_endpoints",
    "pull_endpoint_cord",
    "release_endpoint_cord",
    "sync_deployments",
]
