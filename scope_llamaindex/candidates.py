"""Candidate: a LlamaIndex LLM with the name and prices the router knows it by."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from llama_index.core.llms import LLM
from llama_index.core.llms.function_calling import FunctionCallingLLM
from pydantic import BaseModel, ConfigDict, Field

from scope_core import Capability, ModelSpec, Router, UnknownModelError


def supports_tools(llm: LLM) -> bool:
    """Whether an LLM can take part in function calling."""
    return isinstance(llm, FunctionCallingLLM) and llm.metadata.is_function_calling_model


class Candidate(BaseModel):
    """One model the router may choose: a LlamaIndex LLM, its name, its prices (USD per 1M tokens)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    name: str = Field(min_length=1)
    llm: LLM
    input_price: float
    output_price: float
    context_window: int | None = Field(default=None, description="default: the LLM's metadata")
    latency_s: float | None = None

    def spec(self) -> ModelSpec:
        meta = self.llm.metadata
        return ModelSpec(
            name=self.name,
            input_price=self.input_price,
            output_price=self.output_price,
            context_window=self.context_window or meta.context_window,
            capabilities=frozenset({Capability.TOOLS}) if supports_tools(self.llm) else frozenset(),
            latency_s=self.latency_s,
            provider=self.llm.class_name(),
        )


def register_pool(router: Router, candidates: Sequence[Candidate] | Mapping[str, LLM]) -> dict[str, LLM]:
    """Register Candidates with the router; a {name: llm} mapping must name models it already knows."""
    if isinstance(candidates, Mapping):
        known = router.models()
        unknown = sorted(set(candidates) - set(known))
        if unknown:
            raise UnknownModelError(
                f"candidate(s) {unknown} are not registered with the router; known: {sorted(known)}"
            )
        pool = dict(candidates)
    else:
        for candidate in candidates:
            router.register_model(candidate.spec())
        pool = {c.name: c.llm for c in candidates}
        if len(pool) != len(candidates):
            raise ValueError("candidate names must be unique")
    if not pool:
        raise ValueError("ScopeLLM needs at least one candidate")
    return pool
