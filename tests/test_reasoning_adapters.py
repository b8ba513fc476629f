"""Router(estimator=reasoning) routing through both adapters, with a scripted estimator LLM.

On hard maths the store says only 'strong' succeeds; the scripted estimator LLM says the opposite.
With the reasoning estimator (LLM weight 0.8) the adapters send maths to 'cheap'; with knn to 'strong',
so each answer shows which estimator decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from llama_index.core.base.llms.types import ChatMessage, CompletionResponse, CompletionResponseGen, LLMMetadata
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback

from scope_core import BehaviourStore, ModelSpec, Router
from scope_core.estimators import ReasoningEstimator, get_estimator
from scope_langchain import ScopeChatModel
from scope_llamaindex import ScopeLLM, llm_candidate

from .conftest import record_scores
from .reasoning_support import ScriptedReasoner, target_model, verdict

CHEAP = ModelSpec(name="cheap", input_price=0.1, output_price=0.4)
STRONG = ModelSpec(name="strong", input_price=5.0, output_price=15.0)
HARD = [f"Compute the definite integral of x^{n} * sin(x) from 0 to pi, step by step." for n in range(2, 10)]
QUERY = "Compute the definite integral of x^12 * sin(x) from 0 to pi, step by step."
CONTRARY = {"cheap": verdict(60, True), "strong": verdict(60, False)}


class Labelled(CustomLLM):
    """A LlamaIndex LLM answering with its own label."""

    label: str

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.label)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=f"{self.label} answers")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        yield self.complete(prompt)


@pytest.fixture
def seeded(embedder):
    """(store, embedder) with past maths outcomes: only 'strong' right."""
    store = BehaviourStore.ephemeral()
    seeder = Router(store, embedder=embedder, cache_ttl_s=0.0)
    for spec in (CHEAP, STRONG):
        seeder.register_model(spec)
    record_scores(seeder, HARD, {"cheap": 0.0, "strong": 1.0}, input_tokens=40, output_tokens=60)
    yield store, embedder
    store.drop()


def routers(store: BehaviourStore, embedder, script: ScriptedReasoner) -> dict[str, Router]:
    reasoning = ReasoningEstimator(script, output_price=1.0)
    return {
        "reasoning": Router(store, estimator=reasoning, embedder=embedder, cache_ttl_s=0.0),
        "knn": Router(store, estimator="knn", embedder=embedder, cache_ttl_s=0.0),
    }


def asked(script: ScriptedReasoner) -> Sequence[str]:
    return sorted(target_model(p) for p in script.prompts)


async def test_scope_chat_model_routes_with_the_reasoning_estimator(seeded):
    script = ScriptedReasoner(CONTRARY)
    answers = {}
    for name, router in routers(*seeded, script).items():
        llm = ScopeChatModel(
            candidates=[
                (FakeListChatModel(responses=["cheap answers"]), CHEAP),
                (FakeListChatModel(responses=["strong answers"]), STRONG),
            ],
            router=router,
            alpha=0.9,
        )
        answers[name] = llm.invoke(QUERY).content
        assert (await llm.ainvoke(QUERY)).content == answers[name]
    assert answers == {"reasoning": "cheap answers", "knn": "strong answers"}
    assert asked(script) == ["cheap", "strong"]  # the async call was served from the cache


async def test_scope_llm_routes_with_the_reasoning_estimator(seeded):
    script = ScriptedReasoner(CONTRARY)
    answers = {}
    for name, router in routers(*seeded, script).items():
        pool = [
            llm_candidate("cheap", Labelled(label="cheap"), input_price=0.1, output_price=0.4),
            llm_candidate("strong", Labelled(label="strong"), input_price=5.0, output_price=15.0),
        ]
        llm = ScopeLLM(candidates=pool, router=router, alpha=0.9)
        answers[name] = llm.complete(QUERY).text
        chat = await llm.achat([ChatMessage(role="user", content=QUERY)])
        assert chat.message.content == answers[name]
    assert answers == {"reasoning": "cheap answers", "knn": "strong answers"}
    assert asked(script) == ["cheap", "strong"]


def test_reasoning_by_name_takes_its_llm_and_reads_the_routers_store(seeded):
    store, embedder = seeded
    script = ScriptedReasoner({})
    router = Router(store, estimator=get_estimator("reasoning", llm=script), embedder=embedder, cache_ttl_s=0.0)
    assert isinstance(router.estimator, ReasoningEstimator)
    router.route(QUERY)
    assert script.prompts and all(QUERY in p for p in script.prompts)  # question texts read from this store
    with pytest.raises(ValueError, match="needs llm="):
        Router(store, estimator="reasoning", embedder=embedder)
