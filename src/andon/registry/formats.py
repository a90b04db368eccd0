"""Artifact formats: detect, read the signature, refuse unsafe ones, load safely.

``onnx`` and ``skops`` are safe to load; ``file`` is opaque bytes. ``pickle`` (and joblib,
which is pickle underneath) runs arbitrary code when loaded, so it is refused unless a
platform-admin registered the version with ``--trust-pickle``. Detection looks at the bytes,
not only the name: declaring a pickle as ``file``, naming it ``model.bin``, writing it with
protocol 0 or compressing it does not get it past the check.

Heavy libraries (onnxruntime, skops, scikit-learn) are imported inside the functions.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from andon.core.errors import Invalid
from andon.registry import sniff

FORMATS = ("onnx", "skops", "file", "pickle")
_PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".jbl"}


def looks_like_pickle(path: Path) -> bool:
    """Whether the file is a pickle or a joblib dump: by its name, or by its content (every
    protocol, compressed or not; see :mod:`andon.registry.sniff`)."""
    return path.suffix.lower() in _PICKLE_SUFFIXES or sniff.is_pickle(path)


def detect(path: Path, declared: str | None) -> str:
    """The format of the artifact at ``path``; pickle wins over any declaration."""
    if looks_like_pickle(path):
        return "pickle"
    if declared is not None:
        if declared not in ("onnx", "skops", "file"):
            raise Invalid(f"'{declared}' is not one of onnx, skops, file", field="fmt")
        return declared
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if suffix == ".skops":
        return "skops"
    return "file"


def onnx_signature(data: bytes) -> dict[str, Any]:
    """Inputs and outputs (name, element type, shape) of an ONNX model; Invalid if not one."""
    import onnxruntime as ort  # type: ignore[import-untyped,unused-ignore]

    try:
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Invalid(f"not a loadable ONNX model: {first[:200]}", field="artifact") from None

    def describe(args: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "name": a.name,
                "type": a.type,
                "shape": [d if isinstance(d, int) else None for d in a.shape],
            }
            for a in args
        ]

    sig: dict[str, Any] = {
        "inputs": describe(session.get_inputs()),
        "outputs": describe(session.get_outputs()),
    }
    names = onnx_feature_names(session)
    if names is not None:
        sig["feature_names"] = names
    return sig


FEATURE_NAMES_KEY = "feature_names"
"""The ONNX metadata key (a JSON list of names) that names the columns of a model's one matrix
input, so a server can take rows keyed by feature (skl2onnx drops a DataFrame's names)."""


def onnx_feature_names(session: Any) -> list[str] | None:
    """The column names an ONNX model's metadata declares (:data:`FEATURE_NAMES_KEY`), if any."""
    import json

    raw = session.get_modelmeta().custom_metadata_map.get(FEATURE_NAMES_KEY)
    if raw is None:
        return None
    try:
        names = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return names


def skops_untrusted(data: bytes) -> list[str]:
    """Types in a skops file that skops does not trust by default."""
    import skops.io as sio  # type: ignore[import-untyped,unused-ignore]

    try:
        return sorted(sio.get_untrusted_types(data=data))
    except Exception as exc:
        raise Invalid(
            f"not a readable skops file: {type(exc).__name__}", field="artifact"
        ) from None


def skops_signature(data: bytes, trusted: list[str]) -> dict[str, Any]:
    """What a fitted scikit-learn estimator says about its inputs and outputs."""
    est = load_skops(data, trusted)
    sig: dict[str, Any] = {"estimator": f"{type(est).__module__}.{type(est).__qualname__}"}
    n = getattr(est, "n_features_in_", None)
    if n is not None:
        sig["inputs"] = [{"name": "X", "type": "float", "shape": [None, int(n)]}]
    names = getattr(est, "feature_names_in_", None)
    if names is not None:
        sig["feature_names"] = [str(x) for x in names]
    classes = getattr(est, "classes_", None)
    if classes is not None:
        sig["classes"] = [c.item() if hasattr(c, "item") else c for c in classes]
    if trusted:
        sig["trusted_types"] = trusted
    return sig


def load_skops(data: bytes, trusted: list[str]) -> Any:
    """A skops estimator, trusting only skops' defaults plus ``trusted``."""
    import skops.io as sio  # type: ignore[import-untyped,unused-ignore]

    return sio.loads(data, trusted=trusted or None)


def load_onnx(data: bytes, *, threads: int | None = None) -> Any:
    """An ONNX Runtime inference session over the model bytes (CPU); ``threads`` caps the
    intra- and inter-op thread pools (a server worker runs one request at a time: 1)."""
    import onnxruntime as ort  # type: ignore[import-untyped,unused-ignore]

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = threads
    return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])


def load_pickle(data: bytes) -> Any:
    """Unpickle (joblib handles plain and compressed pickles). Only for trusted versions."""
    import joblib  # type: ignore[import-untyped,unused-ignore]

    return joblib.load(io.BytesIO(data))
