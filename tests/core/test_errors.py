"""Every error class declares how the doors present it."""

from __future__ import annotations

import andon
from andon.core import errors


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def test_every_error_declares_http_status_and_exit_code() -> None:
    subclasses = _all_subclasses(errors.AndonError)
    assert len(subclasses) >= 9
    for cls in subclasses:
        assert 400 <= cls.http_status < 600, cls
        assert cls.exit_code in {1, 2, 3, 4}, cls
        assert cls.title and cls.title != "andon error", cls


def test_exit_codes_follow_design() -> None:
    assert errors.Invalid.exit_code == 2
    assert errors.Forbidden.exit_code == 3
    assert errors.Unauthenticated.exit_code == 3
    assert errors.GateFailed.exit_code == 4
    assert errors.NotFound.exit_code == 1


def test_problem_document_names_the_field() -> None:
    exc = errors.Invalid("must be a number", field="port")
    doc = exc.problem("/api/v1/x")
    assert doc == {
        "type": "https://andon.dev/problems/invalid",
        "title": "invalid input",
        "status": 422,
        "detail": "port: must be a number",
        "instance": "/api/v1/x",
        "field": "port",
    }
    assert errors.SchemaMismatch.slug() == "schema-mismatch"


def test_public_surface_is_pinned() -> None:
    assert andon.__all__ == sorted(andon.__all__)
    for name in andon.__all__:
        assert hasattr(andon, name)


def test_problems_name_the_api_field_not_the_cli_option() -> None:
    from andon.core.errors import Invalid, api_field

    assert Invalid("no such server", field="--server").problem()["field"] == "server"
    assert api_field("--dataset-version") == "dataset_version"
    assert api_field("--as") == "role"
    assert api_field("base_dir") == "base_dir"
