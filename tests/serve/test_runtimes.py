"""Serving registry model versions in process: real ONNX and skops versions registered and
aliased through the registry, bound through a model endpoint, predicted through the runtime and
compared with scikit-learn's own answers; every request problem at once; tampering refused."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Invalid, TamperedArtifact
from andon.registry import service as registry
from andon.registry.formats import FEATURE_NAMES_KEY
from andon.serve import service as serve
from andon.serve.queries import load_snapshot
from andon.serve.records import Binding
from andon.serve.runtimes import MAX_ROWS, RuntimeCache, load_runtime
from andon.store.artifacts import ArtifactStore

FEATURES = ["amount", "hour", "merchant_risk"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two fitted classifiers on named features, as ONNX (feature names in its metadata) and
    as skops (fitted on a DataFrame, so the estimator names its features)."""
    import numpy as np
    import pandas as pd
    import skops.io as sio
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    X = np.column_stack(
        [rng.lognormal(3, 1, 300), rng.integers(0, 24, 300), rng.random(300)]
    ).astype(np.float32)
    y = ((X[:, 0] > 25) & (X[:, 2] > 0.4)).astype(np.int64)
    folder = tmp_path_factory.mktemp("serve-models")
    onnx_model = LogisticRegression(max_iter=500).fit(X, y)
    proto = to_onnx(onnx_model, X[:1], target_opset=17, options={"zipmap": False})
    proto.metadata_props.add(key=FEATURE_NAMES_KEY, value=json.dumps(FEATURES))
    (folder / "v1.onnx").write_bytes(proto.SerializeToString())
    forest = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0)
    forest.fit(pd.DataFrame(X.astype(float), columns=FEATURES), y)
    sio.dump(forest, folder / "v2.skops")
    other = LogisticRegression(C=0.01, max_iter=500).fit(X, y)
    proto2 = to_onnx(other, X[:1], target_opset=17, options={"zipmap": False})
    (folder / "v3.onnx").write_bytes(proto2.SerializeToString())  # names no features
    return {
        "X": X[:40],
        "onnx": onnx_model,
        "skops": forest,
        "unnamed": other,
        "files": folder,
    }


@pytest.fixture
def bound(admin: Context, trained: dict[str, Any]) -> dict[str, Any]:
    """fraud-ml's ``scorer`` v1 (ONNX), v2 (skops), v3 (ONNX, no names); champion at v1;
    endpoint ``scorer`` serves the champion."""
    auth.create_team(admin, "fraud-ml")
    files: Path = trained["files"]
    for name in ("v1.onnx", "v2.skops", "v3.onnx"):
        # The forest's tree type is not in skops' defaults: the admin trusts it by name, and
        # the runtime trusts exactly the types the version was registered with.
        trust = name.endswith(".skops")
        registry.register_model(
            admin, "scorer", team="fraud-ml", artifact=files / name, trust_pickle=trust
        )
    registry.set_alias(admin, "scorer@1", "champion")
    serve.apply_endpoint(
        admin, "name: scorer\nteam: fraud-ml\nkind: model\nmodel: scorer\nalias: champion\n"
    )
    return trained


def binding(admin: Context, endpoint: str = "scorer") -> Binding:
    return load_snapshot(admin.db).bindings[endpoint]


def rows_of(X: Any) -> list[dict[str, float]]:
    return [dict(zip(FEATURES, map(float, row), strict=True)) for row in X]


def test_onnx_predicts_what_sklearn_predicts_from_rows_and_lists(
    admin: Context, bound: dict[str, Any]
) -> None:
    X = bound["X"]
    runtime = load_runtime(admin.settings, binding(admin))
    assert (runtime.model, runtime.version, runtime.features) == ("scorer", 1, tuple(FEATURES))
    by_row = runtime.predict({"inputs": rows_of(X)})
    by_list = runtime.predict({"inputs": X.tolist()})
    assert by_row == by_list
    assert (by_row["model"], by_row["version"]) == ("scorer", 1)
    assert by_row["predictions"] == bound["onnx"].predict(X).tolist()
    assert all(type(p) is int for p in by_row["predictions"])
    expected = bound["onnx"].predict_proba(X)
    got = by_row["probabilities"]
    assert len(got) == len(X) and all(type(v) is float for row in got for v in row)
    import numpy as np

    assert np.abs(np.asarray(got) - expected).max() < 1e-5
    json.dumps(by_row)  # plain JSON


def test_skops_predicts_exactly_what_sklearn_predicts(
    admin: Context, bound: dict[str, Any]
) -> None:
    import pandas as pd

    registry.set_alias(admin, "scorer@2", "champion")
    b = binding(admin)
    assert (b.version, b.artifact_format) == (2, "skops")
    runtime = load_runtime(admin.settings, b)
    X = bound["X"].astype(float)
    frame = pd.DataFrame(X, columns=FEATURES)
    out = runtime.predict({"inputs": rows_of(X)})
    assert out["predictions"] == bound["skops"].predict(frame).tolist()
    assert out["probabilities"] == bound["skops"].predict_proba(frame).tolist()
    assert runtime.predict({"inputs": X.tolist()}) == out


def test_every_problem_at_once_naming_fields(admin: Context, bound: dict[str, Any]) -> None:
    runtime = load_runtime(admin.settings, binding(admin))
    body = {
        "inputs": [
            {"amount": 10.0, "hour": 3, "merchant_risk": 0.2},
            {"amount": 10.0, "hour": 3},
            {"amount": "abc", "hour": True, "merchant_risk": 0.1, "foo": 1},
            [1.0, 2.0],
            [1.0, None, 3.0],
            "row",
        ],
        "temperature": 0.3,
    }
    with pytest.raises(Invalid) as caught:
        runtime.predict(body)
    err = caught.value
    assert err.field == "inputs"
    assert err.details["errors"] == [
        "temperature: not a field of a prediction request (inputs)",
        "inputs[1]: missing feature 'merchant_risk'",
        "inputs[2].foo: not a feature of scorer v1",
        'inputs[2].amount: expected a number, got "abc"',
        "inputs[2].hour: expected a number, got true",
        "inputs[3]: expected 3 values (amount, hour, merchant_risk), got 2",
        "inputs[4].hour: expected a number, got null",
        'inputs[5]: expected an object keyed by feature or a list of values, got "row"',
    ]
    assert "(8 problems)" in err.message and "inputs[2].foo" in err.message


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "inputs: is required: a list of rows"),
        ({"inputs": []}, "inputs: is empty: send at least one row"),
        ({"inputs": {"amount": 1}}, 'inputs: expected a list of rows, got {"amount": 1}'),
        ([1, 2], "body: expected an object with inputs, got [1, 2]"),
        (
            {"inputs": [[1.0, 2.0, 3.0]] * (MAX_ROWS + 1)},
            f"inputs: has {MAX_ROWS + 1} rows; at most {MAX_ROWS} per request",
        ),
    ],
)
def test_the_request_shape_is_checked(
    admin: Context, bound: dict[str, Any], body: Any, problem: str
) -> None:
    runtime = load_runtime(admin.settings, binding(admin))
    with pytest.raises(Invalid) as caught:
        runtime.predict(body)
    assert caught.value.details["errors"] == [problem]


def test_a_model_without_feature_names_takes_lists_only(
    admin: Context, bound: dict[str, Any]
) -> None:
    registry.set_alias(admin, "scorer@3", "champion")
    runtime = load_runtime(admin.settings, binding(admin))
    assert runtime.features is None
    X = bound["X"]
    assert runtime.predict({"inputs": X.tolist()})["predictions"] == (
        bound["unnamed"].predict(X).tolist()
    )
    with pytest.raises(Invalid) as caught:
        runtime.predict({"inputs": [rows_of(X)[0], [1.0, "x", 2.0]]})
    assert caught.value.details["errors"] == [
        "inputs[0]: scorer v3 names no features: send the row as a list of values",
        'inputs[1][1]: expected a number, got "x"',
    ]


def test_a_tampered_artifact_is_refused(admin: Context, bound: dict[str, Any]) -> None:
    b = binding(admin)
    path = ArtifactStore(admin.settings.artifact_dir).path_for(b.artifact_digest)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(TamperedArtifact):
        load_runtime(admin.settings, b)
    with pytest.raises(TamperedArtifact):
        RuntimeCache(admin.settings).get(b)


def test_the_cache_loads_each_digest_once_and_follows_the_binding(
    admin: Context, bound: dict[str, Any]
) -> None:
    cache = RuntimeCache(admin.settings, size=2)
    first = binding(admin)
    row = {"inputs": [bound["X"][0].tolist()]}
    for _ in range(3):
        assert cache.get(first).predict(row)["version"] == 1
    assert cache.loads == 1
    registry.set_alias(admin, "scorer@2", "champion")  # the alias moved: a new digest
    moved = binding(admin)
    assert moved.artifact_digest != first.artifact_digest
    assert cache.get(moved).predict(row)["version"] == 2
    assert cache.loads == 2 and cache.digests() == [first.artifact_digest, moved.artifact_digest]
    registry.set_alias(admin, "scorer@3", "champion")
    cache.get(binding(admin))
    assert cache.loads == 3 and first.artifact_digest not in cache.digests()  # LRU dropped v1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_single_row_latency_is_printed(admin: Context, bound: dict[str, Any]) -> None:
    """Not an assertion on time (DESIGN.md 5): prints the median for the record."""
    runtime = RuntimeCache(admin.settings).get(binding(admin))
    rows = [{"inputs": [r]} for r in rows_of(bound["X"])]
    timings = []
    for i in range(1000):
        start = time.perf_counter()
        runtime.predict(rows[i % len(rows)])
        timings.append(time.perf_counter() - start)
    print(f"\nsingle-row predict median {statistics.median(timings) * 1e6:.0f} us")
    assert len(timings) == 1000
