"""Outcome: what one model did on one prompt, the unit of evidence in the store."""

from __future__ import annotations

import hashlib
import math
import time

from pydantic import Field, field_validator

from scope_core.errors import InvalidInputError
from scope_core.scrub import ERROR_CHARS, scrub
from scope_core.validation import Checked


def text_hash(text: str) -> str:
    """Stable id of a prompt text (also the prompt record id in the store)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def outcome_id(*parts: str) -> str:
    """Deterministic outcome id from its identifying parts (source, prompt, model, run)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def check_score(value: float) -> float:
    """A quality score must be a finite number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and 0 <= value <= 1):
        raise InvalidInputError(f"score must be a number in [0, 1], got {value!r}")
    return value


class Outcome(Checked):
    """One observed call. ``score`` is None until quality feedback arrives (usage-only evidence).

    ``input_tokens`` counts every prompt token, those read from or written to the provider's prompt cache included.

    ``prompt`` may be omitted when ``prompt_hash`` is given and the store already holds that prompt. ``error`` is
    scrubbed of credentials and cut to ``ERROR_CHARS``. A bad value raises InvalidInputError.
    """

    id: str | None = Field(default=None, description="deterministic id; derived when omitted")
    prompt: str | None = None
    prompt_hash: str | None = None
    model: str = Field(min_length=1)
    score: float | None = None
    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)
    cost_usd: float | None = None
    latency_s: float | None = None
    cache_read_tokens: int | None = Field(default=None, ge=0, description="input tokens read from the prompt cache")
    cache_write_tokens: int | None = Field(default=None, ge=0, description="input tokens written to the prompt cache")
    ttft_s: float | None = Field(default=None, description="a streamed answer's time to its first chunk")
    error: str | None = None
    task: str | None = None
    source: str = "online"
    timestamp: float = Field(default_factory=time.time)

    @field_validator("score")
    @classmethod
    def _score_in_unit_interval(cls, value: float | None) -> float | None:
        return None if value is None else check_score(value)

    @field_validator("error")
    @classmethod
    def _scrubbed(cls, value: str | None) -> str | None:
        return None if value is None else scrub(value)[:ERROR_CHARS]

    @field_validator("cost_usd", "latency_s", "ttft_s")
    @classmethod
    def _finite_non_negative(cls, value: float | None, info) -> float | None:
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{info.field_name} must be a finite number >= 0, got {value!r}")
        return value

    def model_post_init(self, _context) -> None:
        if self.prompt_hash is None:
            if self.prompt is None:
                raise ValueError("an Outcome needs prompt or prompt_hash")
            self.prompt_hash = text_hash(self.prompt)
        if self.id is None:
            self.id = outcome_id(self.source, self.prompt_hash, self.model)

    @property
    def scored(self) -> bool:
        return self.score is not None and self.error is None
