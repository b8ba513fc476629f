"""Latency as an objective: predicted from observed outcomes, capped by max_latency_s, weighed by latency_weight."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage

from scope_core import BehaviourStore, ModelSpec, Outcome, Router
from scope_core.routing.candidate import Candidate
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
from scope_llamaindex import ScopeLLM
from scope_llamaindex.testing import ScriptedLLM

from .conftest import GREET, MATH, record_scores

FAST = ModelSpec(name="fast", input_price=1.0, output_price=2.0)
SLOW = ModelSpec(name="slow", input_price=1.0, output_price=2.0)
QUESTION = "Compute the integral of x^15 times sin(x) from 0 to pi"


def timed(model: str, first: float, per_token: float) -> list[Outcome]:
    return [
        Outcome(
            prompt=f"{text} ({out})", model=model, input_tokens=20, output_tokens=out, latency_s=first + per_token * out
        )
        for text in GREET[:3]
        for out in (50, 200, 400)
    ]


@pytest.fixture
def router(store, embedder) -> Router:
    """'slow' is right on maths, 'fast' is not; both as cheap."""
    router = Router(store, embedder=embedder, cache_ttl_s=0.0)
    for spec in (FAST, SLOW):
        router.register_model(spec)
    record_scores(router, MATH, {"fast": 0.0, "slow": 1.0})
    return router


def test_latency_is_a_line_in_the_output_length_learnt_from_outcomes(router, embedder):
    router.record(timed("fast", 0.2, 0.01) + timed("slow", 1.0, 0.05))
    decision = router.route(QUESTION)
    for model, first, per_token in (("fast", 0.2, 0.01), ("slow", 1.0, 0.05)):
        e = decision.estimate_for(model)
        assert e.latency_s == pytest.approx(first + per_token * e.output_tokens, rel=0.02)
    fresh = Router(BehaviourStore(router.store.client, router.store.name), embedder=embedder)  # another process
    assert fresh.route(QUESTION).estimate_for("slow").latency_s == pytest.approx(
        decision.estimate_for("slow").latency_s, rel=0.02
    )


def test_max_latency_s_excludes_with_a_reason_and_latency_weight_trades(router):
    router.record(timed("fast", 0.2, 0.001) + timed("slow", 3.0, 0.01))
    assert router.route(QUESTION, alpha=0.9).chosen == "slow"
    capped = router.route(QUESTION, alpha=0.9, max_latency_s=2.0)
    assert capped.chosen == "fast" and capped.excluded["slow"].startswith("predicted latency 3.")
    assert "> max_latency_s 2 s" in capped.excluded["slow"]
    weighed = router.route(QUESTION, alpha=0.9, latency_weight=0.5)
    assert weighed.chosen == "fast" and "latency 0.2" in weighed.reason


def test_a_model_without_outcomes_falls_back_on_its_spec(store, embedder):
    router = Router(store, embedder=embedder)
    router.register_model(ModelSpec(name="typed", input_price=1.0, output_price=1.0, latency_s=2.5))
    router.register_model(ModelSpec(name="unknown", input_price=1.0, output_price=1.0))
    decision = router.route(QUESTION, max_latency_s=1.0)
    assert decision.estimate_for("typed").latency_s == 2.5 and decision.estimate_for("unknown").latency_s is None
    assert decision.chosen == "unknown" and "typed" in decision.excluded  # unknown latency is not excluded


def test_max_latency_s_in_the_langchain_adapter(router):
    slow = ScriptedChatModel(model="slow", latency_s=0.3)
    llm = ScopeChatModel(router=router, candidates=[(ScriptedChatModel(model="fast"), FAST), (slow, SLOW)], alpha=0.9)
    for model in ("fast", "slow"):  # observed: one call each
        llm.invoke(QUESTION, model=model)
    llm.flush()
    assert llm.invoke(QUESTION).response_metadata["model_name"] == "slow"
    capped = llm.invoke([HumanMessage(QUESTION)], max_latency_s=0.15).response_metadata["scope"]
    assert capped["model"] == "fast" and capped["excluded"]["slow"].startswith("predicted latency 0.3")


def test_max_latency_s_in_the_llamaindex_adapter(router):
    fast, slow = ScriptedLLM(model="fast"), ScriptedLLM(model="slow", latency_s=0.3)
    llm = ScopeLLM(router=router, candidates=[Candidate(model=fast, spec=FAST), Candidate(model=slow, spec=SLOW)])
    for model in ("fast", "slow"):
        llm.complete(QUESTION, model=model)
    llm.flush()
    capped = llm.chat([ChatMessage(role="user", content=QUESTION)], alpha=0.9, max_latency_s=0.15)
    scope = capped.additional_kwargs["scope"]
    assert scope["model"] == "fast" and scope["excluded"]["slow"].startswith("predicted latency 0.3")


def test_streams_record_their_time_to_first_token(router):
    lc = ScopeChatModel(router=router, candidates=[(ScriptedChatModel(model="slow", latency_s=0.1), SLOW)])
    chunks = list(lc.stream(QUESTION))
    li = ScopeLLM(router=router, candidates=[Candidate(model=ScriptedLLM(model="slow", latency_s=0.1), spec=SLOW)])
    *_, last = li.stream_chat([ChatMessage(role="user", content=QUESTION)])
    router.flush()
    for run_id in (chunks[-1].response_metadata["scope"]["run_id"], last.additional_kwargs["scope_run_id"]):
        record = router.store.outcome(run_id)
        assert 0.1 <= record["ttft"] <= record["lat"]
    assert router.route(QUESTION).estimate_for("slow").ttft_s == pytest.approx(0.1, abs=0.05)
