"""Evaluation fixtures: the sample fraud data as real datasets, and small real models.

The data (800 rows of the sample generator, written once per session) is applied and
snapshotted into each test's database; the models (ONNX and skops, trained once) are
registered by the ``line`` fixture: ``fraud@1`` the champion, ``fraud@2`` a challenger that
also sees ``app_sessions`` (the proxy of the sensitive attribute), and ``fraud@3`` a model
taking two features only (it cannot score the suite's rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from andon.auth import service as auth
from andon.core.context import Context
from andon.data import service as data
from andon.registry import sample
from andon.registry import service as registry
from tests.cli.conftest import andon_env, run  # noqa: F401  (CLI fixtures)

ROWS = 800
FEATURES = list(sample.FEATURES)


@dataclass(frozen=True)
class Files:
    """The data folder, its contract, and model files by name."""

    folder: Path
    contract: Path
    models: dict[str, Path]
    holdout: dict[str, Any]


def suite_text(team: str = "fraud-ml", **overrides: Any) -> str:
    """A suite over the holdout; ``overrides`` replace top-level keys (YAML flow values)."""
    keys: dict[str, Any] = {
        "name": "holdout",
        "dataset": f"{team}/{sample.HOLDOUT}",
        "label": sample.LABEL,
        "features": f"[{', '.join(FEATURES)}]",
        "task": "classification",
        "threshold": 0.5,
        "slices": f"[{sample.SENSITIVE}]",
        "sensitive_attribute": sample.SENSITIVE,
        "latency": "{predictions: 20}",
        "cost": "{usd_per_hour: 0.36, predictions_per_second: 100}",
    }
    keys.update(overrides)
    return "".join(f"{k}: {v}\n" for k, v in keys.items() if v is not None)


@pytest.fixture(scope="session")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    """Sample data (800 rows) and three small models trained on its training part."""
    import numpy as np
    import pyarrow.parquet as pq
    import skops.io as sio
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folder = tmp_path_factory.mktemp("fraud")
    contract = sample.write_data(folder, n=ROWS)
    train = pq.read_table(folder / f"{sample.TRAIN}.parquet").to_pydict()
    X = np.column_stack([train[f] for f in FEATURES]).astype(np.float32)
    y = np.asarray(train[sample.LABEL])
    # The champion never learns from app_sessions (the column is zero while it trains).
    X_no_proxy = X.copy()
    X_no_proxy[:, 5] = 0
    champion = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_no_proxy, y)
    challenger = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced"))
    challenger.fit(X, y)
    narrow = LogisticRegression().fit(X[:, :2], y)
    models = {}
    for name, model, width in (
        ("champion", champion, 6),
        ("challenger", challenger, 6),
        ("narrow", narrow, 2),
    ):
        path = folder / f"{name}.onnx"
        onnx = to_onnx(model, X[:1, :width], target_opset=17, options={"zipmap": False})
        path.write_bytes(onnx.SerializeToString())
        models[name] = path
    sio.dump(challenger, folder / "challenger.skops")
    models["skops"] = folder / "challenger.skops"
    holdout = pq.read_table(folder / f"{sample.HOLDOUT}.parquet").to_pydict()
    return Files(folder, contract, models, holdout)


@dataclass(frozen=True)
class Line:
    """A team with the sample datasets versioned and the ``fraud`` model registered."""

    team: str
    holdout_version: str
    suite: Path


@pytest.fixture
def line(admin: Context, files: Files, tmp_path: Path) -> Line:
    """Team ``fraud-ml``: datasets applied and snapshotted, ``fraud`` @1 champion, @2, @3."""
    auth.create_team(admin, "fraud-ml")
    data.apply_contract(admin, files.contract, "fraud-ml")
    holdout = data.snapshot_dataset(admin, f"fraud-ml/{sample.HOLDOUT}", materialize=True)
    for name in ("champion", "challenger", "narrow"):
        registry.register_model(admin, "fraud", team="fraud-ml", artifact=files.models[name])
    registry.set_alias(admin, "fraud@1", "champion")
    suite = tmp_path / "suite.yaml"
    suite.write_text(suite_text(), encoding="utf-8")
    return Line("fraud-ml", holdout.id, suite)
