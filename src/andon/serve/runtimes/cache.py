"""A process-local cache of loaded model artifacts, by digest.

A gateway worker asks :meth:`RuntimeCache.get` for the runtime of each request's binding. The
artifact is read, verified and loaded once per digest; a binding that moved (a promotion or a
rollback points the alias at another version) names another digest and loads that one. The
least recently used artifacts beyond ``size`` are dropped, so a worker holds what it serves.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from andon.core.config import Settings
from andon.serve.records import Binding
from andon.serve.runtimes.runtime import LoadedArtifact, ModelRuntime, load_artifact, store_of
from andon.store.artifacts import ArtifactStore


class RuntimeCache:
    """Loaded artifacts by digest, at most ``size`` of them (least recently used go first)."""

    def __init__(self, source: Settings | ArtifactStore, *, size: int = 16) -> None:
        self.store = store_of(source)
        self.size = size
        self.loads = 0
        """How many artifacts this cache has loaded (a hit loads nothing)."""
        self._loaded: OrderedDict[str, LoadedArtifact] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, binding: Binding) -> ModelRuntime:
        """The runtime serving ``binding``, loading its digest on first use."""
        digest = binding.artifact_digest
        with self._lock:
            loaded = self._loaded.get(digest)
            if loaded is not None:
                self._loaded.move_to_end(digest)
                return ModelRuntime(binding, loaded)
        loaded = load_artifact(self.store, binding)  # outside the lock: loads take a while
        with self._lock:
            self.loads += 1
            self._loaded[digest] = loaded
            self._loaded.move_to_end(digest)
            while len(self._loaded) > self.size:
                self._loaded.popitem(last=False)
        return ModelRuntime(binding, loaded)

    def digests(self) -> list[str]:
        """The digests loaded now, least recently used first."""
        with self._lock:
            return list(self._loaded)

    def clear(self) -> None:
        """Drop every loaded artifact."""
        with self._lock:
            self._loaded.clear()
