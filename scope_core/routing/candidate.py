"""Candidate: a framework's model object and the ModelSpec the router knows it by (used by every adapter)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict

from scope_core.errors import InvalidInputError
from scope_core.profiling.lookup import model_name, spec_for
from scope_core.specs import Capability, ModelSpec
from scope_core.validation import Checked

if TYPE_CHECKING:
    from scope_core.routing.router import Router

CandidatesInput = Sequence["Candidate | tuple[Any, ModelSpec]"] | Mapping[str, "Candidate | tuple[Any, ModelSpec]"]


class Candidate(Checked):
    """A model the router may choose: ``model`` (a LangChain chat model, a LlamaIndex LLM) and its ``spec``."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    model: Any
    spec: ModelSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @classmethod
    def of(
        cls,
        model: Any,
        name: str | None = None,
        *,
        registered: Mapping[str, ModelSpec] | None = None,
        inferred: frozenset[Capability] = frozenset(),
        **overrides: Any,
    ) -> Candidate:
        """A Candidate from the model alone (``profiling.lookup.spec_for``): its name (``name``, else the model's
        own ``model_name`` / ``model``, or a LlamaIndex LLM's ``metadata.model_name``), the spec ``registered`` in
        the store under that name, else prices from genai-prices; capabilities and context window from its
        LangChain ``profile``, models.dev, or ``inferred`` (what the object shows it can do, from the adapter);
        ``overrides`` (any ModelSpec field, e.g. ``input_price``) win. A model priced nowhere is an error
        naming what to pass."""
        name = name or model_name(model)
        if not name:
            raise InvalidInputError(f"cannot tell the model name of a {type(model).__name__}: pass name=")
        profile = getattr(model, "profile", None)
        return cls(
            model=model,
            spec=spec_for(name, model_profile=profile, registered=registered, inferred=inferred, **overrides),
        )


Inferred = Callable[[Any], frozenset[Capability]]


def _one(item: Any, key: str | None, registered: Mapping[str, ModelSpec] | None, inferred: Inferred) -> Candidate:
    if isinstance(item, tuple):
        candidate = Candidate(model=item[0], spec=item[1])
    elif isinstance(item, Candidate):
        candidate = item
    else:
        candidate = Candidate.of(item, key, registered=registered, inferred=inferred(item))
    if key is not None and key != candidate.name:
        raise InvalidInputError(f"candidate key '{key}' differs from its spec name '{candidate.name}'")
    return candidate


def as_candidates(
    value: CandidatesInput,
    *,
    registered: Mapping[str, ModelSpec] | None = None,
    inferred: Inferred = lambda model: frozenset(),
) -> list[Candidate]:
    """``[Candidate, ...]``, ``[(model, spec), ...]``, ``{name: (model, spec)}`` or bare models (looked up by
    ``Candidate.of`` with the store's ``registered`` specs and the adapter's ``inferred`` capabilities) as
    Candidates with unique names."""
    pairs = value.items() if isinstance(value, Mapping) else ((None, v) for v in value)
    items = [_one(v, k, registered, inferred) for k, v in pairs]
    names = [c.name for c in items]
    if not names:
        raise InvalidInputError("a routed model needs at least one candidate")
    if len(set(names)) != len(names):
        raise InvalidInputError(f"candidate names must be unique, got {names}")
    return items


def open_router(router: Router | None, location: str | None, store_prompts: bool) -> Router:
    """An adapter's router: ``router``, else one on the store at ``location``."""
    if router is not None:
        return router
    from scope_core.routing.router import Router

    return Router.open(location, store_prompts=store_prompts)


def candidates_router(
    router: Router | None, location: str | None, store_prompts: bool, candidates: Sequence[Candidate]
) -> Router:
    """The router an adapter routes its candidates with (``open_router``); candidates the store does not hold as
    they are get registered."""
    router = open_router(router, location, store_prompts)
    known = router.models()
    for c in candidates:
        if known.get(c.name) != c.spec:
            router.register_model(c.spec)
    return router
