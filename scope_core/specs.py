"""ModelSpec: what the router knows about a candidate model before it runs."""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import ConfigDict, Field, field_validator

from scope_core.validation import Checked, check_model_name


class Capability(StrEnum):
    """Things a call may require of a model."""

    TOOLS = "tools"
    STRUCTURED_OUTPUT = "structured_output"
    VISION = "vision"


class ModelSpec(Checked):
    """A candidate model: name (``validation.MODEL_NAME_RULE``), prices (USD per 1M tokens), context window,
    capabilities. A bad value raises InvalidInputError."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    input_price: float = Field(description="USD per 1M input tokens")
    output_price: float = Field(description="USD per 1M output tokens")
    context_window: int = Field(default=128_000, gt=0)
    capabilities: frozenset[Capability] = frozenset()
    latency_s: float | None = Field(default=None, description="typical latency, seconds")
    provider: str | None = None

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return check_model_name(value)

    @field_validator("input_price", "output_price")
    @classmethod
    def _finite_non_negative(cls, value: float, info) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{info.field_name} must be a finite number >= 0, got {value!r}")
        return value

    def cost(self, input_tokens: float, output_tokens: float) -> float:
        """USD cost of a call with these token counts."""
        return (input_tokens * self.input_price + output_tokens * self.output_price) / 1e6

    def supports(self, required: frozenset[Capability] | set[Capability]) -> bool:
        return set(required) <= self.capabilities
