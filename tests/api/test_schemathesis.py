"""Schemathesis against the live server's own OpenAPI document.

For every operation, positive and negative generated requests (an admin token attached): no
5xx, every error is problem+json whose ``status`` is the HTTP status, and every response
conforms to the document (documented status, content type and schema; invalid input refused).
Bounded to a few derandomized examples per operation and mode, on SQLite, loopback only.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from andon.auth import service as auth
from tests.api.live import Api

EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def backend() -> str:
    """Fuzzing exercises the HTTP layer; the backends are covered by the other API tests."""
    return "sqlite"


def _seed(api: Api) -> None:
    """Some state for generated requests to find: a team with a rotation, an asset, a user."""
    auth.create_principal(api.admin, "ana")
    auth.create_team(api.admin, "fraud-ml", owners=["ana"])
    auth.set_rotation(api.admin, "fraud-ml", "primary", ["ana"], starts_on="2026-11-23")
    auth.register_asset(api.admin, "model", "scorer", "fraud-ml")


def _fuzz(operation: APIOperation, mode: GenerationMode, base: str) -> Callable[[], None]:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        response = case.call()
        assert urlsplit(response.request.url).netloc == urlsplit(base).netloc
        assert response.status_code != 401, case.as_curl_command()
        if response.status_code >= 400:
            assert response.headers["content-type"] == ["application/problem+json"], (
                case.as_curl_command()
            )
            assert response.json()["status"] == response.status_code
        case.validate_response(response, checks=CHECKS)

    return run


def test_generated_requests_never_break_the_api(api: Api) -> None:
    _seed(api)
    schema = schemathesis.openapi.from_url(
        f"{api.base}/api/v1/openapi.json", config=schemathesis.Config()
    )
    # Every request carries the admin token; leaving it out is covered by test_openapi.py.
    schema.config.update(headers={"Authorization": f"Bearer {api.token}"})
    schema.config.generation.update(with_security_parameters=False)
    assert urlsplit(schema.get_base_url()).hostname == "127.0.0.1"

    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, api.base)()
            except Unsatisfiable:
                # No invalid input exists (no parameters, or only free-text path parameters).
                assert mode is GenerationMode.NEGATIVE, operation.label
                continue
            except (AssertionError, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
            tried += 1
    assert tried >= 45
    assert not failures, "\n\n".join(failures)
