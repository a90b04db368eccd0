"""The SDK surface ``import andon`` offers, pinned name by name (as httpx pins its own)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import andon
from andon.core import errors

PUBLIC = [
    "AndonError",
    "BudgetExceeded",
    "Conflict",
    "Context",
    "Forbidden",
    "GateFailed",
    "Invalid",
    "NotFound",
    "Run",
    "SchemaMismatch",
    "Settings",
    "Stopped",
    "TamperedArtifact",
    "TooLarge",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "__version__",
    "local_context",
    "start_run",
]


def test_all_is_exactly_the_public_surface() -> None:
    assert andon.__all__ == PUBLIC


def test_every_public_name_resolves_to_its_home() -> None:
    from andon.core.config import Settings
    from andon.core.context import Context
    from andon.registry.local import local_context
    from andon.registry.runs import Run, start_run

    assert andon.start_run is start_run and andon.Run is Run
    assert andon.Settings is Settings and andon.Context is Context
    assert andon.local_context is local_context
    for name in andon.__all__:
        assert hasattr(andon, name), name
    assert set(dir(andon)) >= set(PUBLIC)


def test_every_deliberate_error_class_is_public() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.AndonError)
    }
    assert classes <= set(andon.__all__)
    for name in classes:
        assert getattr(andon, name) is getattr(errors, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        andon.no_such_name  # noqa: B018


def test_import_andon_stays_light() -> None:
    code = (
        "import sys, andon; heavy = [m for m in ('sqlalchemy', 'pydantic', 'duckdb', 'ibis')"
        " if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
