"""The serve domain's door: endpoints and their cords (the gateway reads :mod:`queries`)."""

from __future__ import annotations

from andon.serve.cords import endpoint_cords, pull_endpoint_cord, release_endpoint_cord
from andon.serve.endpoints import apply_endpoint, get_endpoint, list_endpoints

__all__ = [
    "apply_endpoint",
    "endpoint_cords",
    "get_endpoint",
    "list_endpoints",
    "pull_endpoint_cord",
    "release_endpoint_cord",
]
