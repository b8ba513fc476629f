"""Candidates of a ScopeLLM: scope_core's Candidate (a model and its ModelSpec), built from a LlamaIndex LLM."""

from __future__ import annotations

from llama_index.core.llms import LLM
from llama_index.core.llms.function_calling import FunctionCallingLLM

from scope_core import Capability, ModelSpec
from scope_core.routing.candidate import Candidate


def supports_tools(llm: LLM) -> bool:
    """Whether an LLM can take part in function calling."""
    return isinstance(llm, FunctionCallingLLM) and llm.metadata.is_function_calling_model


def shown_capabilities(llm: object) -> frozenset[Capability]:
    """What a bare LLM shows it can do: tool calling if it is a function-calling model."""
    return frozenset({Capability.TOOLS}) if isinstance(llm, LLM) and supports_tools(llm) else frozenset()


def llm_candidate(
    name: str,
    llm: LLM,
    input_price: float,
    output_price: float,
    *,
    context_window: int | None = None,
    latency_s: float | None = None,
) -> Candidate:
    """A Candidate for a LlamaIndex LLM priced in USD per 1M tokens; its context window (unless given)
    and tool support come from the LLM's metadata."""
    spec = ModelSpec(
        name=name,
        input_price=input_price,
        output_price=output_price,
        context_window=context_window or llm.metadata.context_window,
        capabilities=frozenset({Capability.TOOLS}) if supports_tools(llm) else frozenset(),
        latency_s=latency_s,
        provider=llm.class_name(),
    )
    return Candidate(model=llm, spec=spec)
