"""The decision log: every routed call stored once, whichever way it comes in, with what was predicted, which
options applied, each attempt, what it cost, and its score; read back by window, tag, model and session."""

from __future__ import annotations

import logging
import time
import uuid

import pytest
from langchain_core.tracers.context import collect_runs
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation.dispatcher import instrument_tags
from llama_index.core.schema import QueryBundle
from llama_index.core.tools.types import ToolMetadata

from scope_core import BehaviourStore, BudgetGovernor, ModelSpec, Router
from scope_core.observe.report import report_of
from scope_core.routing.candidate import Candidate
from scope_core.store.decisions import Retention
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
from scope_llamaindex import ScopeLLM, ScopeSelector
from scope_llamaindex.testing import ScriptedLLM

from .conftest import GREET, MATH, record_scores

SPECS = [
    ModelSpec(name="small", input_price=0.1, output_price=0.2, provider="openai"),
    ModelSpec(name="large", input_price=5.0, output_price=15.0, provider="anthropic"),
]


def seeded(router: Router) -> Router:
    for spec in SPECS:
        router.register_model(spec)
    record_scores(router, MATH, {"small": 0.0, "large": 1.0})
    record_scores(router, GREET, {"small": 1.0, "large": 1.0})
    return router


@pytest.fixture
def router(store, embedder) -> Router:
    return seeded(Router(store, embedder=embedder, cache_ttl_s=0.0))


def lc(router: Router, **kwargs) -> ScopeChatModel:
    pool = [Candidate(model=ScriptedChatModel(model=s.name), spec=s) for s in SPECS]
    return ScopeChatModel(candidates=pool, router=router, **kwargs)


def li(router: Router, **kwargs) -> ScopeLLM:
    return ScopeLLM(
        candidates=[Candidate(model=ScriptedLLM(model=s.name), spec=s) for s in SPECS], router=router, **kwargs
    )


def by_id(router: Router) -> dict:
    return {r.run_id: r for r in router.history()}


def is_uuid(run_id: str) -> bool:
    return str(uuid.UUID(run_id)) == run_id


async def test_every_entry_point_logs_each_call_once_under_its_run_id(router: Router):
    chat, llm = lc(router), li(router)
    ids = [
        chat.invoke(MATH[0]).response_metadata["scope"]["run_id"],
        [c for c in chat.stream(MATH[1])][-1].response_metadata["scope"]["run_id"],
        (await chat.ainvoke(MATH[2])).response_metadata["scope"]["run_id"],
        [c async for c in chat.astream(MATH[3])][-1].response_metadata["scope"]["run_id"],
        llm.chat([ChatMessage(role="user", content=GREET[0])]).additional_kwargs["scope_run_id"],
        list(llm.stream_complete(GREET[1]))[-1].additional_kwargs["scope_run_id"],
        (await llm.acomplete(GREET[2])).additional_kwargs["scope_run_id"],
    ]
    call = router.start(GREET[3])
    attempt, _ = call.run(lambda a: "answer")
    ids.append(call.succeeded(attempt)["run_id"])
    decision = router.route(GREET[4])
    ids.append(router.record_call(decision, GREET[4], decision.chosen, input_tokens=10, output_tokens=5).id)
    choices = [ToolMetadata(name=s.name, description=s.name) for s in SPECS]
    ScopeSelector(router).select(choices, QueryBundle(MATH[4]))
    logged = router.history()
    assert len(logged) == len(ids) + 1 and len({r.run_id for r in logged}) == len(logged)
    assert set(ids) <= {r.run_id for r in logged} and all(is_uuid(r.run_id) for r in logged)
    first = by_id(router)[ids[0]]
    assert set(first.predictions) == {"small", "large"} and first.model == first.chosen
    assert first.cost_usd == pytest.approx(SPECS[[s.name for s in SPECS].index(first.model)].cost(
        first.input_tokens, first.output_tokens))  # fmt: skip
    assert first.route_ms > 0 and first.text == MATH[0] and first.estimator == "knn-features"


def test_a_langchain_run_id_tags_metadata_and_thread_are_the_records(router: Router):
    chat = lc(router)
    config = {"tags": ["nightly"], "metadata": {"user": "u-7", "thread_id": "thread-1"}}
    with collect_runs() as runs:
        streamed = [c for c in chat.stream(MATH[0], config=config)][-1].response_metadata["scope"]["run_id"]
        invoked = chat.invoke(GREET[0], config=config).response_metadata["scope"]["run_id"]
    assert {streamed, invoked} == {str(r.id) for r in runs.traced_runs}  # the LangChain run ids, stream included
    for run_id in (streamed, invoked):
        record = by_id(router)[run_id]
        assert record.tags == ["nightly"] and record.metadata == {"user": "u-7"} and record.session_id == "thread-1"
    assert [r.run_id for r in router.history(tags=["nightly"], session_id="thread-1")] == [streamed, invoked]
    # LangSmith names and prices the run as the model that answered, the decision in its metadata
    metadata = runs.traced_runs[0].extra["metadata"]
    assert metadata["ls_model_name"] == by_id(router)[streamed].model
    assert (
        metadata["ls_provider"] in ("openai", "anthropic")
        and metadata["ls_gateway_info"]["scope"]["run_id"] == streamed
    )


def test_llamaindex_instrument_tags_label_the_call(router: Router):
    with instrument_tags({"session_id": "s-9", "team": "search"}):
        run_id = li(router).complete(GREET[0]).additional_kwargs["scope_run_id"]
    record = by_id(router)[run_id]
    assert record.session_id == "s-9" and record.metadata == {"team": "search"}


def test_options_after_the_budget_fallbacks_and_a_late_score(router: Router):
    failing = lc(router)
    next(c.model for c in failing.candidates if c.name == "small").error = ConnectionError("small is down")
    budget = BudgetGovernor(budget_usd=1.0, expected_calls=10, alpha=0.3)
    reply = failing.invoke(GREET[0], budget=budget, max_cost=0.5)
    run_id = reply.response_metadata["scope"]["run_id"]
    record = by_id(router)[run_id]
    assert record.chosen == "small" and record.model == "large" and record.score is None
    assert [(a.model, a.error_type) for a in record.attempts] == [("small", "ConnectionError"), ("large", None)]
    assert record.alpha == pytest.approx(0.3) and record.constraints["max_cost"] <= 0.5
    assert record.budget["budget_usd"] == 1.0 and record.budget["spent_usd"] == 0.0
    router.feedback(run_id, 0.25)
    assert by_id(router)[run_id].score == 0.25


def test_every_candidate_failing_is_logged_with_each_error(router: Router):
    chat = lc(router)
    for c in chat.candidates:
        c.model.error = TimeoutError(f"{c.name} timed out")
    with pytest.raises(Exception, match="every candidate failed"):
        chat.invoke(MATH[0])
    (record,) = router.history()
    assert record.model is None and record.cost_usd is None
    assert {a.error_type for a in record.attempts} == {"TimeoutError"} and len(record.attempts) == 2
    assert report_of([record.summary()]).failure_rate == 1.0


def test_no_prompt_text_with_store_prompts_false(embedder):
    router = seeded(Router(BehaviourStore.ephemeral(store_prompts=False), embedder=embedder, cache_ttl_s=0.0))
    lc(router).invoke(MATH[0])
    (record,) = router.history()
    assert record.text is None and MATH[0] not in record.model_dump_json()


def test_windows_and_filters(router: Router):
    chat = lc(router)
    chat.invoke(MATH[0], model="large")
    middle = time.time()
    chat.invoke(GREET[0], model="small", config={"tags": ["b"]})
    assert [r.model for r in router.history(since=middle)] == ["small"]
    assert [r.model for r in router.history(until=middle)] == ["large"]
    assert [r.model for r in router.history(model="large")] == ["large"]
    assert [r.model for r in router.history(tags=["b"])] == ["small"]
    assert len(router.history(since="1h")) == 2 and router.history(since="2099-01-01") == []
    with pytest.raises(ValueError, match="cannot read the time 'yesterday'"):
        router.history(since="yesterday")


def test_retention_keeps_the_newest_pages(embedder, monkeypatch):
    monkeypatch.setattr("scope_core.store.decisions.PAGE", 4)
    router = seeded(
        Router(BehaviourStore.ephemeral(retention=Retention(max_rows=8)), embedder=embedder, cache_ttl_s=0.0)
    )
    chat = lc(router)
    for i in range(20):
        chat.invoke(f"{GREET[i % len(GREET)]} {i}")
    kept = router.history()
    assert 8 <= len(kept) <= 12 and kept[-1].ts > kept[0].ts
    assert [r.ts for r in kept] == sorted(r.ts for r in kept[-len(kept) :])


def test_one_debug_line_per_decision(router: Router, caplog):
    caplog.set_level(logging.DEBUG, logger="scope_core.decisions")
    run_id = lc(router).invoke(MATH[0]).response_metadata["scope"]["run_id"]
    lines = [r.getMessage() for r in caplog.records if r.name == "scope_core.decisions"]
    assert len(lines) == 1 and run_id in lines[0] and "chose" in lines[0]


def test_one_span_per_call_with_the_genai_and_scope_attributes(router: Router):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from scope_core.observe.tracing import span_observer

    exporter, provider = InMemorySpanExporter(), TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    router.records.observers = [span_observer(tracer, lambda m: {"small": "openai", "large": "anthropic"}[m])]
    chat = lc(router)
    with tracer.start_as_current_span("request") as parent:
        run_ids = [chat.invoke(q, config={"metadata": {"thread_id": "t"}}).response_metadata["scope"]["run_id"]
                   for q in (MATH[0], GREET[0])]  # fmt: skip
    spans = [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]
    assert len(spans) == 2 and all(s.parent.span_id == parent.get_span_context().span_id for s in spans)
    a = dict(spans[0].attributes)
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.response.id"] == run_ids[0]
    assert a["gen_ai.request.model"] == by_id(router)[run_ids[0]].chosen and a["gen_ai.conversation.id"] == "t"
    assert a["gen_ai.provider.name"] in ("openai", "anthropic") and a["gen_ai.usage.output_tokens"] > 0
    assert {"scope.alpha", "scope.predicted_p", "scope.predicted_cost_usd", "scope.reason", "scope.fallbacks"} <= set(a)
