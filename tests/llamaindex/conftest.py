"""Fixtures for the LlamaIndex adapter: a router on an ephemeral store and a pool of scripted candidates."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from scope_core import BehaviourStore, Router
from scope_core.routing.candidate import Candidate
from scope_llamaindex import ScopeLLM, llm_candidate
from scope_llamaindex.testing import ScriptedLLM

from ..conftest import record_scores


@pytest.fixture
def router(store: BehaviourStore, embedder) -> Router:
    """An empty router (no models, no outcomes): each test registers its own candidates."""
    return Router(store, embedder=embedder, cache_ttl_s=0.0)


@pytest.fixture
def cheap() -> ScriptedLLM:
    return ScriptedLLM(model="cheap", tool_format="blocks")


@pytest.fixture
def strong() -> ScriptedLLM:
    return ScriptedLLM(model="strong", tool_format="kwargs", window=128_000)


@pytest.fixture
def make_llm(router: Router, cheap: ScriptedLLM, strong: ScriptedLLM) -> Callable[..., ScopeLLM]:
    """ScopeLLM over 'cheap' ($0.1/$0.4) and 'strong' ($3/$15) unless other candidates are given."""

    def make(candidates: Sequence[Candidate] | None = None, **kwargs) -> ScopeLLM:
        pool = candidates or [
            llm_candidate("cheap", cheap, 0.1, 0.4),
            llm_candidate("strong", strong, 3.0, 15.0),
        ]
        return ScopeLLM(candidates=pool, router=router, **kwargs)

    return make


@pytest.fixture
def seed(router: Router) -> Callable[[Sequence[str], dict[str, float]], None]:
    """Store past outcomes of registered models: on each prompt, model -> score."""

    def add(prompts: Sequence[str], scores: dict[str, float]) -> None:
        record_scores(router, prompts, scores, input_tokens=40, output_tokens=20)

    return add
