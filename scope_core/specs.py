"""ModelSpec: what the router knows about a candidate model before it runs."""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import ConfigDict, Field, field_validator

from scope_core.validation import Checked, check_model_name

DEFAULT_CACHE_TTL_S = 300.0  # Anthropic's default and OpenAI's in-memory retention (5 minutes from last use)


class Capability(StrEnum):
    """Things a call may require of a model."""

    TOOLS = "tools"
    STRUCTURED_OUTPUT = "structured_output"
    VISION = "vision"


class ModelSpec(Checked):
    """A candidate model: name (``validation.MODEL_NAME_RULE``), prices (USD per 1M tokens), context window,
    capabilities. A bad value raises InvalidInputError.

    ``cache_read_price`` and ``cache_write_price`` are what the provider bills for prompt tokens read from or
    written to its prompt cache; None: billed as input (no discount, no fee). ``cache_ttl_s``: how long a cached
    prefix lives after its last use (None: ``DEFAULT_CACHE_TTL_S``)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    input_price: float = Field(description="USD per 1M input tokens")
    output_price: float = Field(description="USD per 1M output tokens")
    context_window: int = Field(default=128_000, gt=0)
    capabilities: frozenset[Capability] = frozenset()
    latency_s: float | None = Field(default=None, description="typical latency, seconds")
    provider: str | None = None
    cache_read_price: float | None = Field(default=None, description="USD per 1M input tokens read from the cache")
    cache_write_price: float | None = Field(default=None, description="USD per 1M input tokens written to the cache")
    cache_ttl_s: float | None = Field(default=None, gt=0, description="life of a cached prefix after its last use")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return check_model_name(value)

    @field_validator("input_price", "output_price", "cache_read_price", "cache_write_price")
    @classmethod
    def _finite_non_negative(cls, value: float | None, info) -> float | None:
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ValueError(f"{info.field_name} must be a finite number >= 0, got {value!r}")
        return value

    def cost(
        self, input_tokens: float, output_tokens: float, cache_read_tokens: float = 0, cache_write_tokens: float = 0
    ) -> float:
        """USD cost of a call with these token counts; ``input_tokens`` includes the cache reads and writes (as
        genai-prices counts them), which are billed at the cache prices where the spec has them."""
        if not (cache_read_tokens or cache_write_tokens):  # the estimator's call, on every candidate of every route
            return (input_tokens * self.input_price + output_tokens * self.output_price) / 1e6
        read_price = self.input_price if self.cache_read_price is None else self.cache_read_price
        write_price = self.input_price if self.cache_write_price is None else self.cache_write_price
        uncached = max(input_tokens - cache_read_tokens - cache_write_tokens, 0.0)
        billed = uncached * self.input_price + cache_read_tokens * read_price + cache_write_tokens * write_price
        return (billed + output_tokens * self.output_price) / 1e6

    @property
    def caches(self) -> bool:
        """Whether the provider bills cached prompt tokens below the input price."""
        return self.cache_read_price is not None and self.cache_read_price < self.input_price

    @property
    def cache_lifetime_s(self) -> float:
        return self.cache_ttl_s if self.cache_ttl_s is not None else DEFAULT_CACHE_TTL_S

    def supports(self, required: frozenset[Capability] | set[Capability]) -> bool:
        return set(required) <= self.capabilities
