"""What makes a record dataclass fit to be the API's response model.

Each domain declares its records once, as dataclasses; the REST API publishes them as they
are (FastAPI takes dataclasses as response models). :func:`published` marks a record the API
returns: its OpenAPI schema lists every field as required (a response always carries them,
defaults included) and takes each field's description from the docstring under it.
:func:`one_of` documents the values a plain ``str`` field takes.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ConfigDict, Field, with_config

T = TypeVar("T")

_PUBLISHED = ConfigDict(
    json_schema_serialization_defaults_required=True, use_attribute_docstrings=True
)


def published(cls: type[T]) -> type[T]:
    """Mark the record dataclass ``cls`` as one the API returns (see the module docstring)."""
    return with_config(_PUBLISHED)(cls)


def one_of(*values: str) -> Any:
    """Schema metadata for ``Annotated[str, one_of(...)]``: the field takes one of ``values``."""
    return Field(json_schema_extra={"enum": list(values)})
