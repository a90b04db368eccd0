"""Registry fixtures: a team, and small real ONNX / skops / pickle artifacts (built once)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from andon.auth import service as auth
from andon.core.context import Context
from tests.cli.conftest import andon_env, run  # noqa: F401  (CLI fixtures)


@pytest.fixture
def team(admin: Context) -> str:
    """The team ``fraud-ml``, owned by the admin's platform."""
    auth.create_team(admin, "fraud-ml")
    return "fraud-ml"


@pytest.fixture(scope="session")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A fitted LogisticRegression as ONNX and skops, a pickle, and an opaque file."""
    import numpy as np
    import skops.io as sio
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    X = rng.random((60, 3)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    model = LogisticRegression().fit(X, y)
    onnx_path = folder / "model.onnx"
    onnx_path.write_bytes(
        to_onnx(model, X[:1], target_opset=17, options={"zipmap": False}).SerializeToString()
    )
    skops_path = folder / "model.skops"
    sio.dump(model, skops_path)
    pickle_path = folder / "model.bin"  # a pickle under an innocent name
    pickle_path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=4))
    joblib_path = folder / "model.joblib"
    joblib_path.write_bytes(pickle.dumps([1, 2], protocol=2))
    opaque = folder / "notes.txt"
    opaque.write_text("threshold: 0.5\n")
    return {
        "onnx": onnx_path,
        "skops": skops_path,
        "pickle": pickle_path,
        "joblib": joblib_path,
        "file": opaque,
    }
