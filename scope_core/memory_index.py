"""MemoryIndex: exact nearest neighbours over a snapshot of a store's prompts, in memory.

It answers ``nearest(embedding, k)`` with the same ``Neighbourhood`` as ``BehaviourStore.nearest``,
by one matrix product instead of a Chroma search (exact cosine, where Chroma's HNSW is
approximate). ``scope eval --fast`` routes and fits on it: the real estimator and metrics, a
fraction of the time. A snapshot does not see later writes; take a new one after them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from . import summary as sm
from .groups import unit
from .store import BehaviourStore, Neighbourhood


class NeighbourIndex(Protocol):
    """Anything that finds a query's stored neighbours (``BehaviourStore``, ``MemoryIndex``)."""

    def nearest(self, embedding: np.ndarray, k: int) -> Neighbourhood: ...


class MemoryIndex:
    """Unit embeddings, token counts and per-model summaries of stored prompts, searched exactly."""

    def __init__(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        tokens: Sequence[float],
        stats: Sequence[Mapping[str, Sequence[float]]],
    ) -> None:
        if not len(ids) == len(vectors) == len(tokens) == len(stats):
            raise ValueError("ids, vectors, tokens and stats must have one row per prompt")
        self.ids, self.tokens, self.stats = list(ids), np.asarray(tokens, dtype=np.float64), list(stats)
        self.vectors = unit(np.asarray(vectors, dtype=np.float32).reshape(len(self.ids), -1))

    @classmethod
    def snapshot(cls, store: BehaviourStore) -> MemoryIndex:
        """Every prompt the store holds now."""
        return cls.from_records(*store.sample_prompts(store.count_prompts()))

    @classmethod
    def from_records(
        cls, ids: Sequence[str], vectors: np.ndarray, metas: Sequence[Mapping[str, object]]
    ) -> MemoryIndex:
        """From prompt records as ``BehaviourStore.sample_prompts`` returns them (ids, embeddings, metadata)."""
        stats = [{m: tuple(v) for m, v in sm.loads(meta.get("stats")).items()} for meta in metas]  # type: ignore[arg-type]
        return cls(ids, vectors, [float(meta.get("tok", 0)) for meta in metas], stats)  # type: ignore[arg-type]

    def nearest(self, embedding: np.ndarray, k: int) -> Neighbourhood:
        """The k most similar prompts, most similar first (ties broken by storage order)."""
        if not self.ids:
            return Neighbourhood(ids=[], similarities=np.zeros(0), tokens=np.zeros(0), stats=[])
        sims = self.vectors @ unit(np.asarray(embedding, dtype=np.float32).ravel())
        k = min(k, len(self.ids))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.lexsort((top, -sims[top]))]
        return Neighbourhood(
            ids=[self.ids[i] for i in top],
            similarities=sims[top].astype(np.float64),
            tokens=self.tokens[top],
            stats=[self.stats[i] for i in top],
        )
