"""What a call is routed on: conversations as turns and their routing text, checks on what callers pass,
token counts, and the embedder (MiniLM on ONNX Runtime, offline)."""

from scope_core.lazy import lazy_exports

__all__ = ["Embedder", "Turn", "count_tokens", "default_embedder", "routing_text"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Embedder": "scope_core.text.embedder",
        "Turn": "scope_core.text.turns",
        "count_tokens": "scope_core.text.tokens",
        "default_embedder": "scope_core.text.embedder",
        "routing_text": "scope_core.text.turns",
    },
)
