"""Registry models behind the gateway: predictions equal scikit-learn's, bad input is a 422
naming the field, a moved alias is served by every worker within a second and recorded as a
deployment, a model's cord stops its endpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from andon.policy import cord
from andon.registry import service as registry
from andon.registry.formats import FEATURE_NAMES_KEY
from andon.serve import service as serve
from tests.api.live import assert_problem
from tests.gateway.harness import Line

FEATURES = ["amount", "hour", "merchant_risk"]


@pytest.fixture(scope="module")
def scorer(gw: Line, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """support's ``scorer``: v1 and v2 ONNX classifiers naming their features, champion v1,
    and the endpoint ``scorer`` serving the champion."""
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    X = np.column_stack([rng.lognormal(3, 1, 300), rng.integers(0, 24, 300), rng.random(300)])
    X = X.astype(np.float32)
    y = ((X[:, 0] > 25) & (X[:, 2] > 0.4)).astype(np.int64)
    folder: Path = tmp_path_factory.mktemp("scorer")
    models = {}
    for version, c in ((1, 1.0), (2, 0.001)):
        model = LogisticRegression(C=c, max_iter=500).fit(X, y)
        proto = to_onnx(model, X[:1], target_opset=17, options={"zipmap": False})
        proto.metadata_props.add(key=FEATURE_NAMES_KEY, value=json.dumps(FEATURES))
        path = folder / f"v{version}.onnx"
        path.write_bytes(proto.SerializeToString())
        registry.register_model(gw.admin, "scorer", team="support", artifact=path)
        models[version] = model
    registry.set_alias(gw.admin, "scorer@1", "champion")
    gw.apply(
        "name: scorer\nteam: support\nkind: model\nmodel: scorer\nalias: champion\n"
        "fallback: {predictions: [1], note: manual review}\n"
    )
    return {"X": X[:20], "models": models}


def _predict(gw: Line, body: Any, *, name: str = "scorer") -> httpx.Response:
    with gw.http() as http:
        return http.post(
            f"/v1/endpoints/{name}/predict", json=body, headers={"connection": "close"}
        )


def _rows(X: Any) -> list[dict[str, float]]:
    return [dict(zip(FEATURES, map(float, row), strict=True)) for row in X]


def test_predictions_equal_scikit_learns(gw: Line, scorer: dict[str, Any]) -> None:
    X = scorer["X"]
    answer = _predict(gw, {"inputs": _rows(X)})
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert (doc["model"], doc["version"]) == ("scorer", 1)
    assert answer.headers["x-andon-model-version"] == "scorer@1"
    assert doc["predictions"] == scorer["models"][1].predict(X).tolist()
    expected = scorer["models"][1].predict_proba(X)
    assert [[round(p, 4) for p in row] for row in doc["probabilities"]] == [
        [round(float(p), 4) for p in row] for row in expected
    ]
    as_lists = _predict(gw, {"inputs": [list(map(float, row)) for row in X]}).json()
    assert as_lists["predictions"] == doc["predictions"]


def test_bad_input_is_a_422_naming_every_field(gw: Line, scorer: dict[str, Any]) -> None:
    body = {
        "inputs": [
            {"amount": "abc", "hour": 3},
            {"amount": 1, "hour": 2, "merchant_risk": 0.1, "foo": 1},
        ]
    }
    doc = assert_problem(_predict(gw, body), 422, field="inputs")
    errors = "\n".join(doc["errors"])
    assert 'inputs[0].amount: expected a number, got "abc"' in errors
    assert "inputs[0]: missing feature 'merchant_risk'" in errors
    assert "inputs[1].foo: not a feature of scorer v1" in errors
    assert_problem(_predict(gw, {"inputs": []}), 422, field="inputs")
    assert_problem(_predict(gw, {"rows": []}, name="no-such-model"), 404)
    with gw.http() as http:
        raw = http.post(
            "/v1/endpoints/scorer/predict",
            content=b"{",
            headers={"content-type": "application/json"},
        )
    assert_problem(raw, 400, field="body")
    assert _predict(gw, {"inputs": _rows(scorer["X"][:1])}).status_code == 200


def test_a_moved_alias_is_served_within_a_second_and_recorded(
    gw: Line, scorer: dict[str, Any]
) -> None:
    X = scorer["X"]
    registry.set_alias(gw.admin, "scorer@2", "champion")
    moved = time.monotonic()
    waited = gw.settle()
    assert waited < 2.0, "every worker serves the new version within a poll or two"
    for _ in range(6):  # every worker, on fresh connections
        doc = _predict(gw, {"inputs": _rows(X)}).json()
        assert doc["version"] == 2
        assert doc["predictions"] == scorer["models"][2].predict(X).tolist()
    # The supervisor records the deployment (endpoint, version, the move that caused it).
    gw.wait_for(lambda: serve.list_deployments(gw.admin, "scorer")[0].version == 2, timeout=10)
    latest = serve.list_deployments(gw.admin, "scorer")[0]
    assert (latest.from_version, latest.cause) == (1, "alias")
    assert time.monotonic() - moved < 10
    registry.set_alias(gw.admin, "scorer@1", "champion")
    gw.settle()
    assert _predict(gw, {"inputs": _rows(X[:2])}).json()["version"] == 1


def test_a_models_cord_stops_its_endpoint_with_the_safe_answer(
    gw: Line, scorer: dict[str, Any]
) -> None:
    cord.pull_cord(gw.admin, "scorer", reason="drift on merchant_risk")
    gw.settle()
    answer = _predict(gw, {"inputs": _rows(scorer["X"][:1])})
    assert answer.status_code == 200
    assert answer.headers["x-andon-fallback"] == "stopped:model"
    assert answer.json() == {"predictions": [1], "note": "manual review"}
    cord.release_cord(gw.admin, "scorer", reason="retrained")
    gw.settle()
    assert "version" in _predict(gw, {"inputs": _rows(scorer["X"][:1])}).json()
