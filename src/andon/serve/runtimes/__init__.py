"""Serving registry model versions in process (the gateway's predict path)."""

from andon.serve.runtimes.cache import RuntimeCache
from andon.serve.runtimes.inputs import MAX_ROWS, Signature, parse_inputs
from andon.serve.runtimes.runtime import LoadedArtifact, ModelRuntime, load_artifact, load_runtime

__all__ = [
    "MAX_ROWS",
    "LoadedArtifact",
    "ModelRuntime",
    "RuntimeCache",
    "Signature",
    "load_artifact",
    "load_runtime",
    "parse_inputs",
]
