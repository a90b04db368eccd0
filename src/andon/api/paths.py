"""Path parameters of the model endpoints, and the service references built from them.

The API names models by ``/models/{team}/{name}`` and versions by
``.../versions/{version}``; the routes build the services' references (``team/name``,
``team/name@version``) with :func:`model_ref` and :func:`version_ref`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from andon.api.schemas import VERSION_MAX

Team = Annotated[
    str,
    Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Team name.", examples=["fraud-ml"]),
]
Name = Annotated[
    str,
    Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$", description="Model name.", examples=["fraud"]),
]
Version = Annotated[int, Path(ge=1, le=VERSION_MAX, description="Version number.", examples=[1])]
Stage = Annotated[
    str,
    Path(
        pattern=r"^[a-z][a-z0-9_-]{0,99}$",
        description="A stage of the model's policy.",
        examples=["production"],
    ),
]
Alias = Annotated[
    str,
    Path(pattern=r"^[a-z][a-z0-9_-]{0,99}$", description="Alias name.", examples=["candidate"]),
]
ObjectId = Annotated[str, Path(max_length=200, description="An andon object id.")]


def model_ref(team: str, name: str) -> str:
    """The services' reference of a model: ``team/name``."""
    return f"{team}/{name}"


def version_ref(team: str, name: str, version: int) -> str:
    """The services' reference of a model version: ``team/name@version``."""
    return f"{team}/{name}@{version}"
