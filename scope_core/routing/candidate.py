"""Candidate: a framework's model object and the ModelSpec the router knows it by (used by every adapter)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from scope_core.profiling.lookup import model_name, spec_for
from scope_core.specs import ModelSpec

if TYPE_CHECKING:
    from scope_core.routing.router import Router

CandidatesInput = Sequence["Candidate | tuple[Any, ModelSpec]"] | Mapping[str, "Candidate | tuple[Any, ModelSpec]"]


class Candidate(BaseModel):
    """A model the router may choose: ``model`` (a LangChain chat model, a LlamaIndex LLM) and its ``spec``."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    model: Any
    spec: ModelSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @classmethod
    def of(cls, model: Any, name: str | None = None, **overrides: Any) -> Candidate:
        """A Candidate from the model alone (``spec_lookup.spec_for``): its name (``name``, else the model's
        own ``model_name`` / ``model``, or a LlamaIndex LLM's ``metadata.model_name``), prices from
        genai-prices, capabilities and context window from its LangChain ``profile``; ``overrides``
        (any ModelSpec field, e.g. ``input_price``) win. An unknown model without prices is an error
        naming what to pass."""
        name = name or model_name(model)
        if not name:
            raise ValueError(f"cannot tell the model name of a {type(model).__name__}: pass name=")
        return cls(model=model, spec=spec_for(name, model_profile=getattr(model, "profile", None), **overrides))


def _one(item: Any, key: str | None = None) -> Candidate:
    if isinstance(item, tuple):
        candidate = Candidate(model=item[0], spec=item[1])
    else:
        candidate = item if isinstance(item, Candidate) else Candidate.of(item, key)
    if key is not None and key != candidate.name:
        raise ValueError(f"candidate key '{key}' differs from its spec name '{candidate.name}'")
    return candidate


def as_candidates(value: CandidatesInput) -> list[Candidate]:
    """``[Candidate, ...]``, ``[(model, spec), ...]``, ``{name: (model, spec)}`` or bare models (looked up by
    ``Candidate.of``) as Candidates with unique names."""
    items = [_one(v, k) for k, v in value.items()] if isinstance(value, Mapping) else [_one(v) for v in value]
    names = [c.name for c in items]
    if not names:
        raise ValueError("a routed model needs at least one candidate")
    if len(set(names)) != len(names):
        raise ValueError(f"candidate names must be unique, got {names}")
    return items


def candidates_router(
    router: Router | None, location: str | None, store_prompts: bool, candidates: Sequence[Candidate]
) -> Router:
    """The router an adapter routes its candidates with: ``router``, else one on the store at ``location``;
    candidates the store does not hold as they are get registered."""
    if router is None:
        from scope_core.routing.router import Router

        router = Router.open(location, store_prompts=store_prompts)
    known = router.models()
    for c in candidates:
        if known.get(c.name) != c.spec:
            router.register_model(c.spec)
    return router
