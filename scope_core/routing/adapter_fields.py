"""RoutedFields: the fields and checks every adapter's routed model shares (a pydantic base beside the framework's).

``ScopeChatModel`` and ``ScopeLLM`` inherit it next to their framework's base class: a router (or the store it is
opened on), the candidates, the routing options of every call (``RouteOptions``, also given as constructor keyword
arguments) and the errors that fall back. Each adapter names the class its candidates must be and how a bare one
shows its capabilities.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from scope_core.routing.candidate import Candidate, Inferred, as_candidates, open_router
from scope_core.routing.policy import RouteOptions
from scope_core.routing.router import Router


class RoutedFields(BaseModel):
    """What an adapter's routed model is made of; subclasses set ``candidate_type`` and ``shown_capabilities``."""

    candidate_type: ClassVar[type]  # the framework's model class every candidate must be
    candidate_kind: ClassVar[str]  # its name in an error, e.g. "LangChain chat models"
    shown_capabilities: ClassVar[Inferred]  # what a bare candidate shows it can do (a staticmethod)

    model_config = ConfigDict(arbitrary_types_allowed=True)

    location: str | None = Field(
        default_factory=lambda: os.environ.get("SCOPE_STORE"),
        description="store path or http://host:port of the router opened when none is given (default $SCOPE_STORE)",
    )
    store_prompts: bool = Field(default=True, description="keep prompt texts in the store opened at `location`")
    router: Router | None = Field(
        default=None, exclude=True, validate_default=True, description="the router; opened on `location` if omitted"
    )
    candidates: list[Candidate] = Field(exclude=True, min_length=1, description="the models to route among")
    routing: RouteOptions = Field(default_factory=RouteOptions, exclude=True, description="options of every call")
    fallback_on: tuple[type[BaseException], ...] = Field(
        default=(Exception,), exclude=True, description="errors that fall back"
    )

    @model_validator(mode="before")
    @classmethod
    def _fold_routing(cls, data: Any) -> Any:
        return RouteOptions.fold(data, cls.model_fields)

    @field_validator("router", mode="after")
    @classmethod
    def _open_router(cls, router: Router | None, info: ValidationInfo) -> Router:
        return open_router(router, info.data.get("location"), info.data.get("store_prompts", True))

    @field_validator("candidates", mode="before")
    @classmethod
    def _coerce_candidates(cls, value: Any, info: ValidationInfo) -> list[Candidate]:
        """Accept ``[Candidate, ...]``, ``[(model, spec), ...]``, ``{name: (model, spec)}`` or bare models (a bare
        one is looked up: its registered spec first, ``Candidate.of``)."""
        registered = info.data["router"].models() if info.data.get("router") else None
        candidates = as_candidates(value, registered=registered, inferred=cls.shown_capabilities)
        if wrong := [c.name for c in candidates if not isinstance(c.model, cls.candidate_type)]:
            raise ValueError(f"candidate(s) {wrong} are not {cls.candidate_kind}")
        return candidates

    @field_validator("routing", mode="before")
    @classmethod
    def _coerce_routing(cls, value: Any) -> RouteOptions:
        return RouteOptions.build(value)
