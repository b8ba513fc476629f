"""Token usage that a LlamaIndex response reports, wherever its integration put it, in its provider's shape.

LlamaIndex passes a provider's usage on as the provider wrote it (``raw``), and the shapes differ in what the input
count includes: OpenAI's ``prompt_tokens`` (Responses: ``input_tokens``) and Gemini's ``prompt_token_count`` include
the tokens read from the prompt cache; Anthropic's ``input_tokens`` leaves out ``cache_read_input_tokens`` and
``cache_creation_input_tokens``. ``Usage.input_tokens`` always includes them (genai-prices' convention).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.base.llms.types import ChatResponse, CompletionResponse

from scope_core.routing.call import Usage


def _get(source: Any, key: str) -> Any:
    return source.get(key) if isinstance(source, Mapping) else getattr(source, key, None)


def _count(source: Any, *path: str) -> int | None:
    """An integer count at ``path`` under ``source`` (None: absent)."""
    for key in path:
        source = _get(source, key) if source is not None else None
    return source if isinstance(source, int) and not isinstance(source, bool) else None


def _anthropic(u: Any, inp: int, out: int) -> Usage | None:
    """Anthropic's usage: its input count leaves out the cache's reads and writes (None: no cache field)."""
    read, write = _count(u, "cache_read_input_tokens"), _count(u, "cache_creation_input_tokens")
    if read is None and write is None:
        return None
    return Usage(inp + (read or 0) + (write or 0), out, read, write)


def parse_usage(u: Any) -> Usage | None:
    """A usage object or dict in OpenAI's, Anthropic's, Gemini's or a plain shape (None: none of them)."""
    prompt, completion = _count(u, "prompt_tokens"), _count(u, "completion_tokens")
    if prompt is not None and completion is not None:  # OpenAI chat completions
        cached = _count(u, "prompt_tokens_details", "cached_tokens")
        return Usage(prompt, completion, cached, _count(u, "prompt_tokens_details", "cache_write_tokens"))
    prompt, candidates = _count(u, "prompt_token_count"), _count(u, "candidates_token_count")
    if prompt is not None and candidates is not None:  # Gemini: thoughts are billed as output
        out = candidates + (_count(u, "thoughts_token_count") or 0)
        return Usage(prompt, out, _count(u, "cached_content_token_count"), None)
    inp, out = _count(u, "input_tokens"), _count(u, "output_tokens")
    if inp is None or out is None:
        return None
    details = ("input_tokens_details", "cached_tokens"), ("input_tokens_details", "cache_write_tokens")
    return _anthropic(u, inp, out) or Usage(inp, out, *(_count(u, *path) for path in details))  # OpenAI Responses


def reported_usage(response: ChatResponse | CompletionResponse) -> Usage:
    """Tokens from ``raw`` (its ``usage`` or Gemini's ``usage_metadata``) or ``additional_kwargs`` (their own or a
    ``usage`` in them), cache reads and writes included; none reported: the router counts them."""
    raw, extra = response.raw, response.additional_kwargs
    sources = [_get(raw, "usage"), _get(raw, "usage_metadata")] if raw is not None else []
    sources += [_get(extra, "usage"), extra]
    if isinstance(response, ChatResponse):
        sources += [_get(response.message.additional_kwargs, "usage"), response.message.additional_kwargs]
    for source in sources:
        if source is not None and (usage := parse_usage(source)) is not None:
            return usage
    return Usage()


def output_text(response: ChatResponse | CompletionResponse) -> str:
    """The text a reply spent output tokens on (counted when the response reports no usage)."""
    return (response.text if isinstance(response, CompletionResponse) else response.message.content) or ""
