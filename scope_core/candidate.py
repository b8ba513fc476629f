"""Candidate: a framework's model object and the ModelSpec the router knows it by (used by every adapter)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from .specs import ModelSpec

CandidatesInput = Sequence["Candidate | tuple[Any, ModelSpec]"] | Mapping[str, "Candidate | tuple[Any, ModelSpec]"]


class Candidate(BaseModel):
    """A model the router may choose: ``model`` (a LangChain chat model, a LlamaIndex LLM) and its ``spec``."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    model: Any
    spec: ModelSpec

    @property
    def name(self) -> str:
        return self.spec.name


def _one(item: Any, key: str | None = None) -> Candidate:
    candidate = Candidate(model=item[0], spec=item[1]) if isinstance(item, tuple) else item
    if not isinstance(candidate, Candidate):
        raise TypeError(f"a candidate is a Candidate or a (model, ModelSpec) pair, got {type(item).__name__}")
    if key is not None and key != candidate.name:
        raise ValueError(f"candidate key '{key}' differs from its spec name '{candidate.name}'")
    return candidate


def as_candidates(value: CandidatesInput) -> list[Candidate]:
    """``[Candidate, ...]``, ``[(model, spec), ...]`` or ``{name: (model, spec)}`` as Candidates with unique names."""
    items = [_one(v, k) for k, v in value.items()] if isinstance(value, Mapping) else [_one(v) for v in value]
    names = [c.name for c in items]
    if not names:
        raise ValueError("a routed model needs at least one candidate")
    if len(set(names)) != len(names):
        raise ValueError(f"candidate names must be unique, got {names}")
    return items
