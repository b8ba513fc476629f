"""ScopeEmbedding: a LlamaIndex embed_model over a scope_core embedder (default: the local MiniLM, offline)."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from pydantic import PrivateAttr

from scope_core import Embedder, as_embedder, default_embedder


class ScopeEmbedding(BaseEmbedding):
    """Embeds with the same model the router uses, so an index needs no API key and no download."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder | Any | None = None, **kwargs: Any) -> None:
        inner = default_embedder() if embedder is None else as_embedder(embedder)
        super().__init__(model_name=inner.name, **kwargs)
        self._embedder = inner

    @classmethod
    def class_name(cls) -> str:
        return "ScopeEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embedder.embed(texts).tolist()

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embedding(query)
