"""ReasoningEstimator on a real store: hybrid blend, its own cost, caching, concurrency, timeouts and errors."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from scope_core import BehaviourStore, Router, ScopeError
from scope_core.errors import InvalidInputError
from scope_core.estimators import KNNEstimator, QueryContext, ReasoningEstimator, get_estimator
from scope_core.estimators.estimate import Estimate
from scope_core.estimators.reasoning.estimator import blend
from scope_core.estimators.reasoning.parse import PARTIAL, Prediction
from scope_core.specs import ModelSpec

from .conftest import MATH, record_scores
from .reasoning_support import ScriptedReasoner, neighbourhood, target_model, verdict

QUERY = "Compute the integral of x^30 times sin(x) from 0 to pi"
SPEC = ModelSpec(name="m", input_price=1.0, output_price=2.0)
# knn alone: only 'large' is right on maths; the script says the opposite, so its weight shows in p
CONTRARY = {"small": verdict(400, True), "medium": verdict(300, True), "large": verdict(20, False)}


def reasoning_router(router: Router, llm, **kwargs) -> Router:
    """The fixture router (small/medium/large, maths only 'large' right) with a reasoning estimator."""
    router.estimator = ReasoningEstimator(llm, **kwargs)
    return router


def knn_estimates(router: Router, query: str = QUERY) -> dict:
    plain = Router(router.store, embedder=router.embedder, cache_ttl_s=0.0)
    return {e.model: e for e in plain.route(query).estimates}


def timed_route(router: Router, path: str, **overrides):
    """(decision, seconds) of a sync ``route`` or an ``aroute`` (timed inside the loop: ``asyncio.run``
    itself waits for abandoned worker threads when it closes)."""

    async def aroute():
        started = time.perf_counter()
        decision = await router.aroute(QUERY, **overrides)
        return decision, time.perf_counter() - started

    if path == "async":
        return asyncio.run(aroute())
    started = time.perf_counter()
    decision = router.route(QUERY, **overrides)
    return decision, time.perf_counter() - started


def test_blend_formula_on_full_and_partial_predictions():
    knn = Estimate(model="m", p_correct=0.6, p_std=0.1, input_tokens=100, output_tokens=100, cost_usd=0.0)
    full = blend(knn, Prediction(300, True, None, 1.0), SPEC, 0.2)
    assert full.p_correct == pytest.approx(0.2 * 0.6 + 0.8 * 1.0)
    assert full.output_tokens == pytest.approx(0.2 * 100 + 0.8 * 300)
    assert full.cost_usd == pytest.approx(SPEC.cost(100, 260))
    assert full.confidence == 1.0
    assert full.p_std == pytest.approx((0.2 * (0.01 + 0.32**2) + 0.8 * 0.08**2) ** 0.5)
    partial = blend(knn, Prediction(None, True, None, PARTIAL), SPEC, 0.2)  # lam = 0.8 * 0.5
    assert partial.p_correct == pytest.approx(0.6 * 0.6 + 0.4) and partial.output_tokens == 100
    assert blend(knn, Prediction(300, None, None, PARTIAL), SPEC, 0.2).p_correct == 0.6
    stated = blend(knn, Prediction(10, True, 0.5, 1.0), SPEC, 0.0)  # all weight on the LLM's probability
    assert stated.p_correct == pytest.approx(0.5) and stated.output_tokens == pytest.approx(10)
    assert blend(knn, Prediction(300, False, None, 1.0), SPEC, 1.0).p_correct == pytest.approx(0.6)


def test_routes_on_the_blend_and_reports_its_own_cost(router):
    knn = knn_estimates(router)
    script = ScriptedReasoner(CONTRARY)
    r = reasoning_router(router, script, input_price=1.0, output_price=4.0)
    decision = r.route(QUERY, alpha=0.9)
    got = {e.model: e for e in decision.estimates}
    assert sorted(target_model(p) for p in script.prompts) == ["large", "medium", "small"]
    for model, e in got.items():
        llm_p = 1.0 if model != "large" else 0.0
        assert e.p_correct == pytest.approx(0.2 * knn[model].p_correct + 0.8 * llm_p)
        assert e.fallback is None and e.confidence == 1.0
        assert len(e.evidence.neighbour_ids) == 5 and set(e.evidence.neighbour_ids) <= set(
            knn[model].evidence.neighbour_ids
        )
        assert e.estimator_tokens > 0
        prompt = next(p for p in script.prompts if target_model(p) == model)
        assert QUERY in prompt and any(m in prompt for m in MATH)
    assert decision.chosen != "large"  # the (contrary) LLM outweighs the retrieval side
    assert decision.estimator_tokens == sum(e.estimator_tokens for e in decision.estimates)
    assert decision.estimator_cost_usd == pytest.approx(sum(e.estimator_cost_usd for e in decision.estimates))
    assert decision.estimator_cost_usd > 0 and decision.overview()["estimator_cost_usd"] == decision.estimator_cost_usd
    assert decision.model_dump()["estimator_cost_usd"] == decision.estimator_cost_usd


def test_token_usage_comes_from_the_chat_models_reply(router):
    reply = AIMessage(
        content=verdict(50, True), usage_metadata={"input_tokens": 700, "output_tokens": 30, "total_tokens": 730}
    )
    r = reasoning_router(router, RunnableLambda(lambda prompt: reply), input_price=2.0, output_price=10.0)
    decision = r.route(QUERY)
    assert all(e.estimator_tokens == 730 for e in decision.estimates)
    assert decision.estimator_cost_usd == pytest.approx(3 * (700 * 2.0 + 30 * 10.0) / 1e6)


def test_repeated_query_is_cached_until_its_evidence_changes(router):
    script = ScriptedReasoner(CONTRARY)
    r = reasoning_router(router, script, output_price=1.0)
    first = r.route(QUERY)
    again = r.route(QUERY)
    assert len(script.prompts) == 3 and r.estimator.llm_calls == 3
    assert [e.p_correct for e in again.estimates] == [e.p_correct for e in first.estimates]
    assert again.estimator_cost_usd == 0.0 and again.estimator_tokens == 0
    record_scores(r, [QUERY], {"small": 1.0, "medium": 1.0, "large": 1.0})  # the query itself is now a neighbour
    r.route(QUERY)
    assert len(script.prompts) == 6


def test_candidates_are_estimated_concurrently_on_the_sync_path(router):
    script = ScriptedReasoner(CONTRARY, delay_s=0.4)
    r = reasoning_router(router, script)
    started = time.perf_counter()
    decision = r.route(QUERY)
    assert time.perf_counter() - started < 1.0  # three 0.4 s calls, not 1.2 s in a row
    assert len(script.threads) == 3 and all(e.fallback is None for e in decision.estimates)


async def test_async_batch_runs_together_and_leaves_the_loop_free(router):
    calls: list[str] = []

    async def slow(prompt: str) -> str:
        calls.append(target_model(prompt))
        await asyncio.sleep(0.4)
        return CONTRARY[target_model(prompt)]

    r = reasoning_router(router, slow)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    decision = await r.aroute(QUERY)
    elapsed = time.perf_counter() - started
    task.cancel()
    assert sorted(calls) == ["large", "medium", "small"] and elapsed < 1.0
    assert ticks >= 10  # the loop kept running while the estimates were pending
    assert all(e.confidence == 1.0 for e in decision.estimates)


async def test_sync_route_inside_a_running_event_loop(router):
    r = reasoning_router(router, ScriptedReasoner(CONTRARY))
    assert asyncio.get_running_loop() is not None
    assert all(e.fallback is None for e in r.route(QUERY).estimates)


@pytest.mark.parametrize("path", ["sync", "async"])
def test_timeout_falls_back_to_the_knn_estimate_of_that_model(router, path):
    knn = knn_estimates(router)
    r = reasoning_router(router, ScriptedReasoner(CONTRARY, delay_s=1.5), timeout_s=0.2, input_price=1.0)
    decision, elapsed = timed_route(r, path, alpha=1.0)
    assert elapsed < 1.2
    for e in decision.estimates:
        assert e.fallback == "knn: timeout after 0.2 s"
        assert e.p_correct == pytest.approx(knn[e.model].p_correct) and e.cost_usd == pytest.approx(
            knn[e.model].cost_usd
        )
        assert e.estimator_tokens > 0  # the prompt was sent: it is charged
    assert decision.chosen == "large"


@pytest.mark.parametrize("path", ["sync", "async"])
def test_llm_errors_and_garbage_fall_back_per_model(router, path):
    knn = knn_estimates(router)
    replies = {"small": "I refuse.", "medium": verdict(10, True), "large": "Predicted Performance: {len: 7, correct: "}
    r = reasoning_router(router, ScriptedReasoner(replies))
    decision, _ = timed_route(r, path)
    got = {e.model: e for e in decision.estimates}
    assert got["small"].fallback == "knn: unparsed reply" and got["small"].p_correct == pytest.approx(
        knn["small"].p_correct
    )
    assert got["medium"].fallback is None and got["medium"].confidence == 1.0
    assert got["large"].fallback is None and got["large"].confidence == PARTIAL  # length only: p stays knn's
    assert got["large"].p_correct == pytest.approx(knn["large"].p_correct)
    failing = reasoning_router(router, ScriptedReasoner(CONTRARY, error=RuntimeError("server down")))
    decision, _ = timed_route(failing, path)
    assert {e.fallback for e in decision.estimates} == {"knn: error: RuntimeError: server down"}
    assert decision.estimator_tokens == 0


def test_langchain_chat_model_as_the_estimator_llm(router):
    chat = FakeListChatModel(responses=[verdict(42, True)])
    r = reasoning_router(router, chat, no_cot=True)
    for decision in (r.route(QUERY), asyncio.run(r.aroute(QUERY.replace("30", "31")))):
        assert all(e.confidence == 1.0 and e.fallback is None for e in decision.estimates)
        assert all(e.output_tokens == pytest.approx(0.2 * 50 + 0.8 * 42) for e in decision.estimates)


def test_a_model_without_evidence_keeps_its_knn_estimate(router):
    router.register_model(ModelSpec(name="fresh", input_price=0.5, output_price=0.5))
    script = ScriptedReasoner({**CONTRARY, "fresh": verdict(1, True)})
    got = {e.model: e for e in reasoning_router(router, script).route(QUERY).estimates}
    assert got["fresh"].fallback.startswith("knn: no neighbour") and "fresh" not in map(target_model, script.prompts)


def test_clear_errors_when_it_cannot_run(store, embedder):
    no_text = BehaviourStore.ephemeral(store_prompts=False)
    nb = neighbourhood([("p0", 0.9, {"m": [1.0, 1.0, 1.0, 40.0, 30.0, 0.0]})])
    ctx = QueryContext(QUERY, np.zeros(4, dtype=np.float32), 20, nb, {}, store=no_text)
    try:
        with pytest.raises(ScopeError, match="store_prompts=False"):
            ReasoningEstimator(lambda p: "").estimate(ctx, [SPEC])
    finally:
        no_text.drop()
    with pytest.raises(InvalidInputError, match="needs llm="):
        get_estimator("reasoning")
    with pytest.raises(InvalidInputError, match="needs llm="):
        Router(store, estimator="reasoning", embedder=embedder)
    with pytest.raises(InvalidInputError, match="takes no llm"):
        get_estimator("knn", llm=lambda p: "")
    with pytest.raises(TypeError, match="callable"):
        ReasoningEstimator(42)
    with pytest.raises(ValueError, match="retrieval_weight"):
        ReasoningEstimator(lambda p: "", retrieval_weight=1.5)
    assert get_estimator("reasoning", llm=lambda p: "", k=3).k == 3


def test_store_failure_or_missing_texts_fall_back_instead_of_failing():
    nb = neighbourhood([(f"p{i}", 0.9 - i / 100, {"m": [1.0, 1.0, 1.0, 40.0, 30.0, 0.0]}) for i in range(6)])
    store = BehaviourStore.ephemeral()
    ctx = QueryContext(
        QUERY, np.zeros(4, dtype=np.float32), 20, nb, {"m": [6.0, 6.0, 6.0, 240.0, 180.0, 0.0]}, store=store
    )
    script = ScriptedReasoner({"m": verdict(1, False)})
    (absent,) = ReasoningEstimator(script).estimate(ctx, [SPEC])  # the store holds none of these prompts
    assert absent.fallback == "knn: no neighbour with a stored question and an outcome of this model"
    for suffix in ("prompts", "outcomes", "models"):  # the store goes away under the estimator
        store.client.delete_collection(f"{store.name}-{suffix}")
    (failed,) = ReasoningEstimator(script).estimate(ctx, [SPEC])
    assert failed.fallback.startswith("knn: store error:") and not script.prompts
    assert failed.p_correct == pytest.approx(KNNEstimator().estimate(ctx, [SPEC])[0].p_correct)


def test_a_saturated_pool_times_out_the_queued_estimates_without_sending_them(router):
    script = ScriptedReasoner(CONTRARY, delay_s=0.5)
    r = reasoning_router(router, script, max_concurrency=1, timeout_s=0.7)
    decision = r.route(QUERY)
    answered = [e for e in decision.estimates if e.fallback is None]
    timed_out = [e for e in decision.estimates if e.fallback == "knn: timeout after 0.7 s"]
    assert len(answered) == 1 and len(timed_out) == 2
    assert sorted(e.estimator_tokens > 0 for e in timed_out) == [False, True]  # running: charged; queued: not sent
    assert len(script.prompts) == 2
