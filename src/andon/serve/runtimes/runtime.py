"""Serving one registry model version in process: load it safely, predict on JSON rows.

:func:`load_artifact` reads the version's artifact by digest from the content-addressed
store, which hashes the bytes again and raises
:class:`~andon.core.errors.TamperedArtifact` when they no longer match. ONNX loads into an
ONNX Runtime session (CPU, one intra-op thread: a gateway worker serves one request at a
time and there are as many workers as cores); skops loads through the registry's safe loader,
trusting only the types the version was registered with. Pickles and opaque files are refused:
nothing here unpickles.

:class:`ModelRuntime` pairs a loaded artifact with the binding it serves (model name and
version, for responses and error messages), so one loaded artifact serves every binding of
its digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from andon.core.config import Settings
from andon.core.errors import Invalid
from andon.registry import service as registry
from andon.serve.records import Binding
from andon.serve.runtimes.inputs import Kind, Signature, onnx_kind, parse_inputs
from andon.store.artifacts import ArtifactStore

SERVABLE = ("onnx", "skops")


@dataclass(frozen=True)
class LoadedArtifact:
    """A model version's artifact loaded for serving (what the cache holds, by digest)."""

    digest: str
    format: str
    model: Any
    """An ONNX Runtime ``InferenceSession`` or a scikit-learn estimator."""
    names: tuple[str, ...] | None
    kinds: tuple[Kind, ...] | None
    columns: bool = False
    """ONNX only: one input per feature (each ``[N, 1]``) rather than one matrix."""


def store_of(source: Settings | ArtifactStore) -> ArtifactStore:
    """The artifact store of ``source`` (settings name the andon home's)."""
    return source if isinstance(source, ArtifactStore) else ArtifactStore(source.artifact_dir)


def load_artifact(source: Settings | ArtifactStore, binding: Binding) -> LoadedArtifact:
    """Read, verify and load the artifact ``binding`` serves (ONNX or skops only)."""
    label = f"{binding.model} v{binding.version}"
    if binding.artifact_format not in SERVABLE:
        raise Invalid(
            f"{label} is a {binding.artifact_format} artifact: the gateway serves onnx and skops",
            field="model",
        )
    data = store_of(source).read_bytes(binding.artifact_digest)
    if binding.artifact_format == "onnx":
        return _onnx(binding, data)
    trusted = [str(x) for x in binding.signature.get("trusted_types", [])]
    est = registry.load_skops(data, trusted)
    if not hasattr(est, "predict"):
        raise Invalid(f"{label} is not a fitted estimator with predict", field="model")
    raw_names = getattr(est, "feature_names_in_", None)
    names = tuple(str(n) for n in raw_names) if raw_names is not None else None
    if names is None and binding.signature.get("feature_names"):
        names = tuple(str(n) for n in binding.signature["feature_names"])
    width = getattr(est, "n_features_in_", None)
    number: tuple[Kind, ...] = ("number",)
    kinds = number * int(width) if width is not None else None
    if names is not None and kinds is not None and len(names) != len(kinds):
        names = None  # a stored list that does not fit the estimator names nothing
    return LoadedArtifact(binding.artifact_digest, "skops", est, names, kinds)


def _onnx(binding: Binding, data: bytes) -> LoadedArtifact:
    session = registry.load_onnx(data, threads=1)
    inputs = session.get_inputs()
    if len(inputs) > 1:  # one named input per feature, as skl2onnx makes from a DataFrame
        columns = tuple(i.name for i in inputs)
        types = tuple(onnx_kind(i.type) for i in inputs)
        return LoadedArtifact(binding.artifact_digest, "onnx", session, columns, types, True)
    shape = inputs[0].shape
    width = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
    if len(shape) == 1:
        width = 1
    declared = registry.onnx_feature_names(session) or binding.signature.get("feature_names")
    names: tuple[str, ...] | None = tuple(declared) if declared else None
    if names is not None and width is not None and len(names) != width:
        names = None
    if width is None and names is not None:
        width = len(names)
    kinds = (onnx_kind(inputs[0].type),) * width if width is not None else None
    return LoadedArtifact(binding.artifact_digest, "onnx", session, names, kinds)


_NUMPY = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int16)": "int16",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


class ModelRuntime:
    """One model version ready to predict: ``predict({"inputs": [...]})``."""

    def __init__(self, binding: Binding, loaded: LoadedArtifact) -> None:
        self.binding = binding
        self.loaded = loaded
        self.signature = Signature(
            f"{binding.model} v{binding.version}",
            loaded.names,
            loaded.kinds,
        )

    @property
    def model(self) -> str:
        """The registry model's name."""
        return self.binding.model

    @property
    def version(self) -> int:
        """The version number served."""
        return self.binding.version

    @property
    def features(self) -> tuple[str, ...] | None:
        """Feature names in column order, when the model names them."""
        return self.loaded.names

    def predict(self, body: Any) -> dict[str, Any]:
        """Check ``body`` against the signature (every problem at once, :class:`Invalid`),
        then predict: ``{"model", "version", "predictions"}`` plus ``"probabilities"`` (one
        list per row, in class order) when the model gives them. Plain JSON values only."""
        rows = parse_inputs(body, self.signature)
        try:
            if self.loaded.format == "onnx":
                predictions, probabilities = self._onnx(rows)
            else:
                predictions, probabilities = self._skops(rows)
        except Invalid:
            raise
        except Exception as exc:  # the model refused these values (shape, type, NaN...)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise Invalid(
                f"{self.signature.label} failed on these inputs: "
                f"{type(exc).__name__}: {first[:200]}",
                field="inputs",
            ) from None
        out: dict[str, Any] = {
            "model": self.model,
            "version": self.version,
            "predictions": predictions,
        }
        if probabilities is not None:
            out["probabilities"] = probabilities
        return out

    def _onnx(self, rows: list[list[Any]]) -> tuple[list[Any], list[list[float]] | None]:
        import numpy as np

        session = self.loaded.model
        inputs = session.get_inputs()
        if self.loaded.columns:
            feeds = {
                i.name: np.asarray([[r[j]] for r in rows], dtype=_NUMPY.get(i.type, "float32"))
                for j, i in enumerate(inputs)
            }
        else:
            dtype = _NUMPY.get(inputs[0].type, "float32")
            matrix = np.asarray(rows, dtype=dtype)
            if len(inputs[0].shape) == 1:
                matrix = matrix.reshape(-1)
            feeds = {inputs[0].name: matrix}
        outputs = session.run(None, feeds)
        names = [o.name for o in session.get_outputs()]
        predictions = _column(outputs[0], len(rows))
        probabilities = None
        for name, value in zip(names[1:], outputs[1:], strict=False):
            if isinstance(value, list) and value and isinstance(value[0], dict):  # ZipMap
                keys = sorted(value[0])
                probabilities = [[float(row[k]) for k in keys] for row in value]
                break
            arr = np.asarray(value)
            if arr.ndim == 2 and arr.dtype.kind == "f" and ("prob" in name or len(names) == 2):
                probabilities = arr.astype(float).tolist()
                break
        return predictions, probabilities

    def _skops(self, rows: list[list[Any]]) -> tuple[list[Any], list[list[float]] | None]:
        import numpy as np

        est = self.loaded.model
        X: Any = np.asarray(rows, dtype=float)
        if getattr(est, "feature_names_in_", None) is not None:  # fitted on a DataFrame
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]

            X = pd.DataFrame(X, columns=list(self.loaded.names or est.feature_names_in_))
        predictions = _column(est.predict(X), len(rows))
        probabilities = None
        if hasattr(est, "predict_proba"):
            probabilities = np.asarray(est.predict_proba(X), dtype=float).tolist()
        return predictions, probabilities


def _column(value: Any, n: int) -> list[Any]:
    """One prediction per row as plain JSON values (a ``[N, 1]`` output is flattened)."""
    import numpy as np

    arr = np.asarray(value)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(n)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise Invalid("the model predicted a non-finite value", field="inputs")
    out: list[Any] = arr.tolist()
    return out


def load_runtime(source: Settings | ArtifactStore, binding: Binding) -> ModelRuntime:
    """A runtime serving ``binding`` (no cache: :class:`~andon.serve.runtimes.cache.RuntimeCache`
    loads each digest once). Raises ``TamperedArtifact`` when the stored bytes no longer
    match the digest, ``NotFound`` when they are missing, ``Invalid`` for formats not served."""
    return ModelRuntime(binding, load_artifact(source, binding))
