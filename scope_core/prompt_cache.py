"""SimulatedPromptCache: a provider's prompt cache, simulated, for the scripted models of tests, docs and benchmarks.

A provider keeps the prompt it processed and bills a later prompt that starts with it at its cache-read price, for
``ttl_s`` after the prefix was last used (a hit renews it); a prompt under ``min_tokens`` is not cached. A prompt is a
list of parts (the tool definitions, then each message) with their token counts; a prefix is a whole number of parts.
Each model has its own cache. ``style`` is the provider's: "anthropic" caches the whole prompt when asked (automatic
caching: a breakpoint at its end) and bills the tokens it writes; "openai" caches by itself, in steps of 128 tokens,
and bills no write. The usage is reported as the provider does (``raw_usage``; LangChain's ``langchain_usage``).
Time is the cache's own ``now`` (``advance``), or the logical ``clock`` it is given, never the wall clock.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Style = Literal["anthropic", "openai", "gemini"]
_STEP = {"anthropic": 1, "openai": 128, "gemini": 1}  # granularity of a cache hit, tokens


@dataclass(frozen=True)
class CacheUse:
    """A call's input tokens (all of them), those read from the cache and those written to it."""

    input_tokens: int
    read: int
    written: int


class SimulatedPromptCache:
    """The prompt caches of one provider's models (thread-safe)."""

    def __init__(
        self,
        style: Style = "anthropic",
        ttl_s: float = 300.0,
        min_tokens: int = 1024,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.style, self.ttl_s, self.min_tokens, self.now, self._clock = style, ttl_s, min_tokens, 0.0, clock
        self._entries: dict[tuple[str, bytes], tuple[int, float]] = {}  # (model, prefix) -> (tokens, last used)
        self._lock = threading.Lock()
        self._calls = 0

    def __repr__(self) -> str:
        return f"SimulatedPromptCache({self.style!r}, ttl_s={self.ttl_s:g}, now={self.clock():g})"

    def clock(self) -> float:
        return self._clock() if self._clock is not None else self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def call(self, model: str, parts: Sequence[tuple[str, int]]) -> CacheUse:
        """A prompt of (text, tokens) parts sent to ``model``: what it read from its cache and wrote to it."""
        total, tokens, running, prefixes = sum(n for _, n in parts), 0, b"", []
        for text, n in parts:
            running = hashlib.blake2b(running + text.encode(), digest_size=16).digest()
            tokens += n
            prefixes.append((running, tokens))
        with self._lock:
            self._calls += 1
            if self._calls % 512 == 0:
                self._entries = {k: v for k, v in self._entries.items() if self._fresh(v)}
            hits = [(d, n) for d, n in prefixes if self._fresh(self._entries.get((model, d)))]
            read = hits[-1][1] if hits and total >= self.min_tokens else 0
            read -= read % _STEP[self.style]
            if hits and read:
                self._entries[(model, hits[-1][0])] = (hits[-1][1], self.clock())
            if total >= self.min_tokens:
                self._entries[(model, running)] = (total, self.clock())
        return CacheUse(total, read, total - read if self.style == "anthropic" and total >= self.min_tokens else 0)

    def _fresh(self, entry: tuple[int, float] | None) -> bool:
        return entry is not None and self.clock() - entry[1] <= self.ttl_s

    def raw_usage(self, use: CacheUse, output_tokens: int) -> dict[str, Any]:
        """The usage as the provider's API returns it (a LlamaIndex response's ``raw``)."""
        if self.style == "anthropic":  # input_tokens leaves the cache out
            usage = {"input_tokens": use.input_tokens - use.read - use.written, "output_tokens": output_tokens}
            return {"usage": {**usage, "cache_read_input_tokens": use.read, "cache_creation_input_tokens": use.written}}
        if self.style == "gemini":
            counts = {"prompt_token_count": use.input_tokens, "cached_content_token_count": use.read}
            return {"usage_metadata": {**counts, "candidates_token_count": output_tokens, "thoughts_token_count": 0}}
        details = {"cached_tokens": use.read, "cache_write_tokens": None}
        usage = {"prompt_tokens": use.input_tokens, "completion_tokens": output_tokens}
        return {"usage": {**usage, "total_tokens": use.input_tokens + output_tokens, "prompt_tokens_details": details}}

    @staticmethod
    def langchain_usage(use: CacheUse, output_tokens: int) -> dict[str, Any]:
        """The usage as LangChain reports it (``usage_metadata``: input tokens include the cache's)."""
        return {
            "input_tokens": use.input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": use.input_tokens + output_tokens,
            "input_token_details": {"cache_read": use.read, "cache_creation": use.written},
        }
