"""ScopeLLM as a plain LLM: routing, overrides, metadata, fallback, streaming, recording, feedback."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse

from scope_core import BudgetGovernor, NoCandidateError, UnknownModelError
from scope_llamaindex import MODEL_KEY, RUN_KEY, AllCandidatesFailedError, ScopeLLM, capture_calls, llm_candidate
from scope_llamaindex.testing import ScriptedLLM

MATH = [f"Prove that the sum of the first {n} odd numbers is a perfect square" for n in range(3, 11)]


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content=text)]


def test_chat_goes_to_one_candidate_and_is_recorded_with_its_cost(make_llm, router, cheap, strong):
    llm = make_llm()
    response = llm.chat(user("Say hello to Ada"))

    model, run_id = response.message.additional_kwargs[MODEL_KEY], response.additional_kwargs[RUN_KEY]
    assert model == "cheap"  # no evidence: equal predicted accuracy, so the cheaper model
    assert len(cheap.calls) == 1 and strong.calls == []
    router.flush()
    record = router.store.outcome(run_id)
    usage = response.raw["usage"]
    assert record["m"] == "cheap"
    assert (record["it"], record["ot"]) == (usage["input_tokens"], usage["output_tokens"])
    assert record["c"] == pytest.approx(router.models()["cheap"].cost(usage["input_tokens"], usage["output_tokens"]))

    router.feedback(run_id, 0.0)
    router.flush()
    assert router.store.outcome(run_id)["s"] == 0.0


def test_the_store_and_per_call_overrides_steer_the_choice(make_llm, seed):
    llm = make_llm(alpha=0.9)  # registers the candidates
    seed(MATH, {"cheap": 0.0, "strong": 1.0})
    question = user("Prove that the sum of the first 12 odd numbers is a perfect square")

    assert llm.chat(question).message.additional_kwargs[MODEL_KEY] == "strong"
    assert llm.chat(question, alpha=0.0).message.additional_kwargs[MODEL_KEY] == "cheap"
    assert llm.chat(question, allowed=["cheap"]).message.additional_kwargs[MODEL_KEY] == "cheap"
    assert llm.chat(question, max_cost=1e-4).message.additional_kwargs[MODEL_KEY] == "cheap"
    assert make_llm().chat(question, alpha=0.9).message.additional_kwargs[MODEL_KEY] == "strong"
    with pytest.raises(UnknownModelError):
        llm.chat(question, allowed=["nope"])


def test_metadata_tells_the_truth_about_the_allowed_pool(router):
    plain = ScriptedLLM(model="plain", function_calling=False, window=4_000)
    tools = ScriptedLLM(model="tools", window=32_000)
    pool = [
        llm_candidate("plain", plain, 0.1, 0.1),
        llm_candidate("tools", tools, 1.0, 1.0),
    ]
    both = ScopeLLM(candidates=pool, router=router)
    assert both.metadata.is_function_calling_model
    assert both.metadata.context_window == 32_000
    only_plain = ScopeLLM(candidates=pool, router=router, allowed=["plain"])
    assert not only_plain.metadata.is_function_calling_model
    assert only_plain.metadata.context_window == 4_000


@pytest.mark.parametrize("bad", [{"alpha": 2.0}, {"alpha": -0.1}, {"max_cost": 0.0}, {"min_accuracy": 1.5}])
def test_bad_settings_are_refused_at_construction(router, bad):
    pool = [llm_candidate("plain", ScriptedLLM(model="plain"), 0.1, 0.1)]
    with pytest.raises(ValueError, match=next(iter(bad))):
        ScopeLLM(candidates=pool, router=router, **bad)


def test_a_prompt_too_long_for_a_candidate_excludes_it(router):
    small = ScriptedLLM(model="small", window=400)
    large = ScriptedLLM(model="large", window=10_000)
    llm = ScopeLLM(
        router=router,
        candidates=[
            llm_candidate("small", small, 0.1, 0.1),
            llm_candidate("large", large, 5.0, 5.0),
        ],
    )
    assert llm.chat(user("short question")).message.additional_kwargs[MODEL_KEY] == "small"
    long_text = " ".join(f"word{i}" for i in range(300))
    assert llm.chat(user(long_text)).message.additional_kwargs[MODEL_KEY] == "large"
    assert llm.complete(long_text).additional_kwargs[MODEL_KEY] == "large"
    with pytest.raises(NoCandidateError, match="context window"):
        llm.chat(user(long_text * 40))


def test_an_error_falls_back_to_the_next_best_and_both_attempts_are_recorded(make_llm, router, cheap, strong):
    cheap.error = ConnectionError("cheap is down")
    llm = make_llm()
    with capture_calls() as calls:
        response = llm.chat(user("Say hello to Ada"))

    assert response.message.additional_kwargs[MODEL_KEY] == "strong"
    assert [(c.model, c.attempt, c.error is not None) for c in calls] == [("cheap", 0, True), ("strong", 1, False)]
    router.flush()
    failed = router.store.outcome(calls[0].run_id)
    assert failed["m"] == "cheap" and "ConnectionError" in failed["err"]
    router.flush()
    assert router.store.outcome(response.additional_kwargs[RUN_KEY])["m"] == "strong"

    strong.error = ConnectionError("strong is down")
    with pytest.raises(AllCandidatesFailedError):
        llm.chat(user("Say hello to Ada"))


def _run(llm: ScopeLLM, method: str) -> ChatResponse | CompletionResponse:
    """Call one of the eight entry points and return its (last) response."""
    messages, prompt = user("Tell me a story about a cat"), "Tell me a story about a cat"

    async def go():
        if method == "achat":
            return await llm.achat(messages)
        if method == "acomplete":
            return await llm.acomplete(prompt)
        stream = await (llm.astream_chat(messages) if method == "astream_chat" else llm.astream_complete(prompt))
        return [chunk async for chunk in stream]

    sync = {
        "chat": lambda: llm.chat(messages),
        "complete": lambda: llm.complete(prompt),
        "stream_chat": lambda: list(llm.stream_chat(messages)),
        "stream_complete": lambda: list(llm.stream_complete(prompt)),
    }
    result = sync[method]() if method in sync else asyncio.run(go())
    if isinstance(result, list):
        assert result, "a stream yielded nothing"
        assert all(chunk.additional_kwargs[MODEL_KEY] == "cheap" for chunk in result)
        return result[-1]
    return result


@pytest.mark.parametrize(
    "method",
    ["chat", "achat", "stream_chat", "astream_chat", "complete", "acomplete", "stream_complete", "astream_complete"],
)
def test_every_entry_point_routes_once_and_records_once(make_llm, router, cheap, strong, method):
    llm = make_llm()
    with capture_calls() as calls:
        last = _run(llm, method)
    assert len(cheap.calls) == 1 and strong.calls == []
    assert [c.model for c in calls] == ["cheap"]
    router.flush()
    assert router.store.count_outcomes() == 1
    router.flush()
    record = router.store.outcome(last.additional_kwargs[RUN_KEY])
    assert record["it"] == last.raw["usage"]["input_tokens"] and record["ot"] == last.raw["usage"]["output_tokens"]


def test_a_stream_falls_back_before_its_first_chunk(make_llm, cheap):
    cheap.error = ConnectionError("cheap is down")
    chunks = list(make_llm().stream_chat(user("Tell me a story")))
    assert {c.message.additional_kwargs[MODEL_KEY] for c in chunks} == {"strong"}
    assert "".join(c.delta or "" for c in chunks) == "[strong] Tell me a story"


def test_our_tags_never_reach_a_candidate(make_llm, cheap):
    llm = make_llm()
    first = llm.chat(user("Say hello"))
    llm.chat([*user("Say hello"), first.message, ChatMessage(role="user", content="again")])
    sent = cheap.calls[-1][1]
    assert sent[2].content == first.message.content
    assert all(MODEL_KEY not in m.additional_kwargs and RUN_KEY not in m.additional_kwargs for m in sent)
    assert MODEL_KEY in first.message.additional_kwargs  # the caller's message is left as it was


def test_a_budget_governor_is_charged_what_each_call_cost(make_llm, router):
    budget = BudgetGovernor(budget_usd=1.0, expected_calls=10)
    llm = make_llm(budget=budget)
    with capture_calls() as calls:
        llm.chat(user("Say hello"))
        llm.chat(user("Say goodbye"))
    assert budget.calls == 2
    assert budget.spent == pytest.approx(sum(c.cost_usd for c in calls))


async def test_200_concurrent_achat_record_every_outcome_once(make_llm, router):
    llm = make_llm()
    questions = [f"Question number {i}: what is {i} plus {i}?" for i in range(200)]
    router.embed_texts(questions)  # one batch instead of 200 single embeddings: this test is about recording
    responses = await asyncio.gather(*(llm.achat(user(q)) for q in questions))

    run_ids = {r.additional_kwargs[RUN_KEY] for r in responses}
    assert len(run_ids) == 200
    router.flush()
    assert router.store.count_outcomes() == 200
    router.flush()
    assert all(router.store.outcome(run_id) is not None for run_id in run_ids)
