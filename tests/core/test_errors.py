"""Every error class declares how the doors present it."""

from __future__ import annotations

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


def test_problems_name_the_service_field_and_carry_the_hint() -> None:
    from andon.core.errors import Invalid

    doc = Invalid("no such server", field="server", hint="name one of the contract's").problem()
    assert doc["field"] == "server" and doc["hint"] == "name one of the contract's"
    assert doc["detail"] == "server: no such server"
