"""MemoryIndex: exact nearest neighbours over a snapshot of a store's prompts, in memory.

It answers ``nearest(embedding, k)`` with the same ``Neighbourhood`` as ``BehaviourStore.nearest``,
by one matrix product instead of a Chroma search (exact cosine, where Chroma's HNSW is
approximate). ``scope eval --fast`` routes and fits on it: the real estimator and metrics, a
fraction of the time. A snapshot does not see later writes; take a new one after them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from scope_core.errors import InvalidInputError
from scope_core.store import summary as sm
from scope_core.store.records import Neighbourhood

if TYPE_CHECKING:
    from scope_core.store.behaviour import BehaviourStore


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


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
            raise InvalidInputError("ids, vectors, tokens and stats must have one row per prompt")
        self.ids, self.tokens, self.stats = list(ids), np.asarray(tokens, dtype=np.float64), list(stats)
        self.vectors = _unit(np.asarray(vectors, dtype=np.float32).reshape(len(self.ids), -1))

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
            return Neighbourhood.empty()
        sims = self.vectors @ _unit(np.asarray(embedding, dtype=np.float32).ravel())
        k = min(k, len(self.ids))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.lexsort((top, -sims[top]))]
        return Neighbourhood(
            ids=[self.ids[i] for i in top],
            similarities=sims[top].astype(np.float64),
            tokens=self.tokens[top],
            stats=[self.stats[i] for i in top],
        )
