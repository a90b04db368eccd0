"""Canary and shadow through the real gateway (2 workers): a 30 % canary takes about 30 % of
200 callers, each always on the same variant; a shadow's answers are never returned but
recorded with their agreement; a shadow that fails changes nothing for the caller; the
figures are written within seconds and a stage gate over them passes or fails as they say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from andon.gateway.variants import bucket
from andon.policy import service as policy
from andon.registry import service as registry
from andon.registry.formats import FEATURE_NAMES_KEY
from andon.serve import service as serve
from tests.gateway.harness import Line

FEATURES = ["amount", "hour", "merchant_risk"]


@pytest.fixture(scope="module")
def models(gw: Line, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """support's ``ranker``: v1 ``live``, v2 ``trial`` (a different classifier), v3 ``odd``
    (two features only: every request it gets fails); ``split`` has a 30 % canary on trial,
    ``mirror`` shadows trial, ``broken`` shadows odd."""
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(11)
    X = np.column_stack([rng.lognormal(3, 1, 300), rng.integers(0, 24, 300), rng.random(300)])
    X = X.astype(np.float32)
    y = ((X[:, 0] > 25) & (X[:, 2] > 0.4)).astype(np.int64)
    folder: Path = tmp_path_factory.mktemp("ranker")
    fitted = {}
    for version, (c, columns) in enumerate(((1.0, 3), (0.001, 3), (1.0, 2)), start=1):
        model = LogisticRegression(C=c, max_iter=500).fit(X[:, :columns], y)
        proto = to_onnx(model, X[:1, :columns], target_opset=17, options={"zipmap": False})
        proto.metadata_props.add(key=FEATURE_NAMES_KEY, value=json.dumps(FEATURES[:columns]))
        path = folder / f"v{version}.onnx"
        path.write_bytes(proto.SerializeToString())
        registry.register_model(gw.admin, "ranker", team="support", artifact=path)
        fitted[version] = model
    for version, alias in ((1, "live"), (2, "trial"), (3, "odd")):
        registry.set_alias(gw.admin, f"ranker@{version}", alias)
    head = "team: support\nkind: model\nmodel: ranker\nalias: live\ncost: {per_request: 0.00002}\n"
    gw.apply("name: split\n" + head + "canary: {alias: trial, percent: 30}\n")
    gw.apply("name: mirror\n" + head + "shadow: {alias: trial}\n")
    gw.apply("name: broken\n" + head + "shadow: {alias: odd}\n")
    return {"X": X[:40], "models": fitted}


def _rows(X: Any) -> list[dict[str, float]]:
    return [dict(zip(FEATURES, map(float, row), strict=True)) for row in X]


def _post(http: httpx.Client, name: str, body: Any, key: str | None = None) -> httpx.Response:
    headers = {"connection": "close"}
    if key is not None:
        headers["x-andon-caller-key"] = key
    return http.post(f"/v1/endpoints/{name}/predict", json=body, headers=headers)


def _figures(gw: Line, name: str) -> dict[str, Any]:
    return {r.variant: r for r in serve.endpoint_variants(gw.admin, name)}


def test_a_30_percent_canary_is_sticky_per_caller(gw: Line, models: dict[str, Any]) -> None:
    X, fitted = models["X"], models["models"]
    body = {"inputs": _rows(X[:4])}
    keys = [f"caller-{i}" for i in range(200)]
    seen: dict[str, str] = {}
    with gw.http() as http:
        for key in keys:
            answer = _post(http, "split", body, key)
            assert answer.status_code == 200, answer.text
            variant = answer.headers["x-andon-variant"]
            version = 2 if variant == "canary" else 1
            assert answer.json()["version"] == version
            assert answer.headers["x-andon-model-version"] == f"ranker@{version}"
            assert answer.json()["predictions"] == fitted[version].predict(X[:4]).tolist()
            seen[key] = variant
        for key in keys[:30]:  # again, on fresh connections (either worker): the same variant
            assert _post(http, "split", body, key).headers["x-andon-variant"] == seen[key]
        # Without the header the principal's name is the key.
        mine = _post(http, "split", body).headers["x-andon-variant"]
        assert mine == ("canary" if bucket("split", "admin") < 30 else "primary")
    canary = {k for k, v in seen.items() if v == "canary"}
    assert 0.15 <= len(canary) / len(keys) <= 0.45
    assert canary == {k for k in keys if bucket("split", k) < 30}  # the documented hash
    total = {v: sum(1 for k in keys + keys[:30] if seen[k] == v) for v in ("primary", "canary")}
    total["primary" if mine == "primary" else "canary"] += 1

    def written() -> bool:
        figures = _figures(gw, "split")
        return {v: r.requests for v, r in figures.items()} == total

    gw.wait_for(written, timeout=10)
    figures = _figures(gw, "split")
    assert figures["canary"].version == 2 and figures["primary"].version == 1
    assert figures["canary"].errors == 0 and figures["canary"].p95_ms is not None
    assert figures["canary"].cost_nanos == total["canary"] * 20_000


def test_a_shadow_is_recorded_with_its_agreement_and_never_returned(
    gw: Line, models: dict[str, Any]
) -> None:
    X, fitted = models["X"], models["models"]
    with gw.http() as http:
        for i in range(10):
            rows = X[i * 4 : i * 4 + 4]
            answer = _post(http, "mirror", {"inputs": _rows(rows)})
            assert answer.status_code == 200
            assert answer.headers["x-andon-variant"] == "primary"
            assert answer.json()["version"] == 1
            assert answer.json()["predictions"] == fitted[1].predict(rows).tolist()
    agreed = int((fitted[1].predict(X) == fitted[2].predict(X)).sum())
    assert agreed < len(X), "the two versions must disagree somewhere for this test to bite"

    def written() -> bool:
        shadow = _figures(gw, "mirror").get("shadow")
        return shadow is not None and shadow.requests == 10

    gw.wait_for(written, timeout=10)
    figures = _figures(gw, "mirror")
    shadow = figures["shadow"]
    assert (shadow.version, shadow.errors, shadow.compared) == (2, 0, 40)
    assert shadow.agreement == round(agreed / 40, 6)
    assert figures["primary"].requests == 10


def test_a_failing_shadow_changes_nothing_for_the_caller(gw: Line, models: dict[str, Any]) -> None:
    X, fitted = models["X"], models["models"]
    with gw.http() as http:
        for _ in range(5):
            answer = _post(http, "broken", {"inputs": _rows(X[:3])})
            assert answer.status_code == 200, answer.text
            assert answer.json()["predictions"] == fitted[1].predict(X[:3]).tolist()

    def written() -> bool:
        shadow = _figures(gw, "broken").get("shadow")
        return shadow is not None and shadow.errors == 5

    gw.wait_for(written, timeout=10)
    shadow = _figures(gw, "broken")["shadow"]
    assert (shadow.requests, shadow.version, shadow.agreement) == (5, 3, None)


def test_a_gate_over_the_canary_figures(gw: Line, models: dict[str, Any]) -> None:
    policy.apply_policy(
        gw.admin,
        "team: support\nmodel: ranker\nstages:\n  qa:\n    alias: qa\n"
        '    gate: "has_canary && canary.requests >= 20 && canary.error_rate <= 0.01"\n',
    )
    decision = policy.check_gate(gw.admin, "ranker@2", "qa")
    assert decision.passed, decision.clauses
    assert not policy.check_gate(gw.admin, "ranker@1", "qa").passed  # never a canary
    # Bad input from canary callers: their errors count against the canary.
    canary_keys = [f"caller-{i}" for i in range(200) if bucket("split", f"caller-{i}") < 30]
    with gw.http() as http:
        for key in canary_keys[:10]:
            assert _post(http, "split", {"inputs": [{"amount": "x"}]}, key).status_code == 422
    gw.wait_for(lambda: _figures(gw, "split")["canary"].errors == 10, timeout=10)
    failed = policy.check_gate(gw.admin, "ranker@2", "qa")
    assert not failed.passed
    assert [c["clause"] for c in failed.failed_clauses] == ["canary.error_rate <= 0.01"]
