"""StoreView: what a router reads from its store, cached: the registry snapshot and recent neighbourhoods.

The registry and the neighbourhoods of recent queries are kept ``cache_ttl_s`` seconds; the router's own
writes clear both at once, so only other processes' writes take up to ``cache_ttl_s`` to show. While the
store is unavailable, the last registry seen stands in and searches find nothing (the route is degraded); a
process that starts during an outage stands on the local snapshot of the last registry read (``snapshot``), else
on the models it registers itself (an adapter's candidates). ``source`` says which.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from cachetools import TTLCache

from scope_core.errors import StoreError, StoreUnavailableError
from scope_core.outcome import text_hash
from scope_core.specs import ModelSpec
from scope_core.store.records import Neighbourhood, NeighbourIndex, Registry
from scope_core.store.snapshot import RegistrySnapshot

if TYPE_CHECKING:
    from scope_core.store.behaviour import BehaviourStore

_NEVER = -1e18


class StoreView:
    """A router's cached reads of one store (thread-safe; the store is read outside the lock)."""

    def __init__(
        self,
        store: BehaviourStore,
        cache_ttl_s: float,
        on_back: Callable[[], None],
        index: NeighbourIndex | None,
        snapshot: RegistrySnapshot | None = None,
    ) -> None:
        self.store, self.cache_ttl_s, self.index = store, cache_ttl_s, index
        self.snapshot = snapshot or RegistrySnapshot(None)
        self.source = "none"  # where the registry comes from: store, snapshot, registered here, none
        self._on_back = on_back  # the store answers again after an outage
        self._lock = threading.Lock()
        self._registry_at = _NEVER
        self._generation = 0  # bumped by every write: a read that raced one is not cached
        self._neighbours: TTLCache[str, Neighbourhood] = TTLCache(maxsize=1024, ttl=cache_ttl_s)
        self._registry = Registry({}, {})
        self._seen = False  # a registry was read at least once

    @property
    def last_registry(self) -> Registry:
        """The registry last read (or remembered), without a store read."""
        return self._registry

    def start(self) -> None:
        """Read the registry once; while the store is unavailable, stand on the local snapshot (if any)."""
        self.registry()
        if self._seen or (saved := self.snapshot.load()) is None:
            return
        with self._lock:
            specs = {**saved.specs, **self._registry.specs}  # what this router registered wins
            self._registry, self._seen, self.source = replace(saved, specs=specs), True, "snapshot"

    def registry(self) -> tuple[Registry, bool]:
        """The registry (cached) and whether it is the last one known because the store is unavailable (empty
        when none was ever known)."""
        with self._lock:
            if time.monotonic() - self._registry_at <= self.cache_ttl_s:
                return self._registry, False
            generation = self._generation
        try:
            registry = self.store.registry()
        except StoreUnavailableError:
            with self._lock:
                return self._registry, True
        self._keep(registry, generation)
        self._on_back()
        return registry, False

    def nearest(self, text: str, embedding: np.ndarray, k: int) -> tuple[Neighbourhood, bool]:
        """The query's neighbourhood (one search, reused for a repeated text until a write), and whether the
        store was unavailable (then no neighbours)."""
        key = f"{k}:{text_hash(text)}"
        with self._lock:
            cached, generation = self._neighbours.get(key), self._generation
        if cached is not None:
            return cached, False
        try:
            found = (self.index or self.store).nearest(embedding, k)
        except StoreUnavailableError:
            return Neighbourhood.empty(), True
        with self._lock:
            if generation == self._generation:
                self._neighbours[key] = found
        return found, False

    def remember(self, spec: ModelSpec) -> None:
        """A model this router registered: known at once, also to a degraded route."""
        with self._lock:
            self._registry = replace(self._registry, specs={**self._registry.specs, spec.name: spec})
            self.source = self.source if self._seen else "registered here"
        self.invalidate()

    def invalidate(self) -> None:
        with self._lock:
            self._registry_at = _NEVER
            self._generation += 1
            self._neighbours.clear()

    def written(self) -> None:
        """After this router's writes: neighbourhoods dropped and the registry read again, once for all routes."""
        self.invalidate()
        with self._lock:
            generation = self._generation
        with contextlib.suppress(StoreError):  # the writes are stored: a failed read only leaves the cache cold
            self._keep(self.store.registry(), generation)

    def _keep(self, registry: Registry, generation: int) -> None:
        """Keep a registry read while ``generation`` was current, unless a write of this router raced it."""
        with self._lock:
            self._seen, self.source = True, "store"
            if generation == self._generation:
                self._registry, self._registry_at = registry, time.monotonic()
        self.snapshot.save(registry)
