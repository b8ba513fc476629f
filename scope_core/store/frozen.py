"""FrozenStore: an in-memory copy of what an estimator's fit reads from a store (the registry, every prompt's
embedding and summaries), picklable, so a fit can run in another process (``scope_core.routing.refit``).

It answers the reads a fit makes (``registry``, ``count_prompts``, ``sample_prompts``, ``scored_prompts``,
``nearest``) as ``BehaviourStore`` does, from the copy: later writes to the store are not seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from scope_core.store import summary as sm
from scope_core.store.memory_index import MemoryIndex
from scope_core.store.records import Neighbourhood, Registry

if TYPE_CHECKING:
    from scope_core.store.behaviour import BehaviourStore


def sample_positions(total: int, n: int, seed: int) -> list[int]:
    """Positions of up to ``n`` of ``total`` prompts (in id order) drawn at random, in order (deterministic per seed);
    ``BehaviourStore.sample_prompts`` and ``FrozenStore.sample_prompts`` draw the same."""
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(total, size=min(n, total), replace=False).tolist()) if total else []


class FrozenStore:
    """A store's registry and prompts at one moment, read-only."""

    def __init__(
        self,
        registry: Registry,
        ids: Sequence[str],
        vectors: np.ndarray,
        metas: Sequence[Mapping[str, object]],
    ) -> None:
        order = np.argsort(np.asarray(ids, dtype=object), kind="stable") if len(ids) else np.zeros(0, dtype=int)
        self._registry = registry
        self.ids = [ids[i] for i in order]
        self.vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)[order]
        self.metas = [dict(metas[i]) for i in order]

    @classmethod
    def of(cls, store: BehaviourStore) -> FrozenStore:
        """Every prompt ``store`` holds now, and its registry."""
        registry = store.registry()
        ids, vectors, metas = store.sample_prompts(store.count_prompts())
        return cls(registry, ids, vectors, metas)

    def registry(self) -> Registry:
        return self._registry

    def count_prompts(self) -> int:
        return len(self.ids)

    def sample_prompts(self, n: int, seed: int = 0) -> tuple[list[str], np.ndarray, list[dict[str, object]]]:
        """As ``BehaviourStore.sample_prompts``: ids, embeddings and metadata of up to ``n`` prompts."""
        chosen = sample_positions(len(self.ids), n, seed)
        return [self.ids[i] for i in chosen], self.vectors[chosen], [dict(self.metas[i]) for i in chosen]

    def scored_prompts(self, model: str, limit: int = 10_000) -> tuple[np.ndarray, list[dict[str, sm.Summary]]]:
        """As ``BehaviourStore.scored_prompts``: embeddings and every model's summaries where ``model`` is scored."""
        vectors, stats = [], []
        for vector, meta in zip(self.vectors, self.metas, strict=True):
            per_model = sm.loads(meta.get("stats"))  # type: ignore[arg-type]
            if per_model.get(model, sm.empty())[sm.N_SCORED] > 0:
                vectors.append(vector)
                stats.append(per_model)
                if len(stats) == limit:
                    break
        return np.asarray(vectors, dtype=np.float64).reshape(len(stats), -1), stats

    @cached_property
    def _index(self) -> MemoryIndex:
        return MemoryIndex.from_records(self.ids, self.vectors, self.metas)

    def nearest(self, embedding: np.ndarray, k: int) -> Neighbourhood:
        """The k most similar prompts of the copy, searched exactly (``MemoryIndex``)."""
        return self._index.nearest(embedding, k)
