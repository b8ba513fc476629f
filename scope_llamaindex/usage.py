"""Token usage that a LlamaIndex response reports, wherever its integration put it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.base.llms.types import ChatResponse, CompletionResponse

from scope_core.routing.call import Usage

_PAIRS = (("prompt_tokens", "completion_tokens"), ("input_tokens", "output_tokens"))


def _get(source: Any, key: str) -> Any:
    return source.get(key) if isinstance(source, Mapping) else getattr(source, key, None)


def reported_usage(response: ChatResponse | CompletionResponse) -> Usage:
    """Tokens from ``additional_kwargs`` or ``raw.usage``; none reported: the router counts them."""
    raw = response.raw
    sources = [response.additional_kwargs, _get(raw, "usage") if raw is not None else None]
    if isinstance(response, ChatResponse):
        sources.append(response.message.additional_kwargs)
    for source in sources:
        if source is None:
            continue
        for inp, out in _PAIRS:
            i, o = _get(source, inp), _get(source, out)
            if isinstance(i, int) and isinstance(o, int):
                return Usage(i, o)
    return Usage()


def output_text(response: ChatResponse | CompletionResponse) -> str:
    """The text a reply spent output tokens on (counted when the response reports no usage)."""
    return (response.text if isinstance(response, CompletionResponse) else response.message.content) or ""
