"""ScopeChatModel routes each call to one candidate, reports the decision, and records the outcome."""

from __future__ import annotations

import json

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import ConfigurableField
from langchain_core.tools import tool
from pydantic import BaseModel

from scope_core import BudgetGovernor, UnknownModelError, text_hash
from tests.langchain.lc_support import CHEAP, EASY_QUERY, HARD_QUERY, PLAIN, STRONG, fake, scope_model


@tool
def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"It is sunny in {city}."


class Person(BaseModel):
    """A person."""

    name: str
    age: int


def test_routes_by_the_store_and_reports_the_decision(lc_router):
    llm = scope_model(lc_router, alpha=0.8)
    hard, easy = llm.invoke(HARD_QUERY), llm.invoke(EASY_QUERY)
    assert hard.response_metadata["model_name"] == "strong"
    assert easy.response_metadata["model_name"] == "cheap"
    scope = hard.response_metadata["scope"]
    json.dumps(scope)  # JSON-serialisable
    assert scope["alpha"] == 0.8 and scope["reason"]
    assert set(scope["candidates"]) == {"cheap", "strong"}
    assert scope["candidates"]["strong"]["p_correct"] > scope["candidates"]["cheap"]["p_correct"]
    assert hard.usage_metadata["input_tokens"] > 0 and hard.usage_metadata["output_tokens"] > 0
    assert len(fake(llm, "strong").calls) == 1 and len(fake(llm, "cheap").calls) == 1


def test_per_call_overrides_as_kwargs_bindings_and_configurable_fields(lc_router):
    llm = scope_model(lc_router, alpha=0.8)
    assert llm.invoke(HARD_QUERY, alpha=0.0).response_metadata["model_name"] == "cheap"
    assert llm.bind(alpha=0.0).invoke(HARD_QUERY).response_metadata["model_name"] == "cheap"
    configurable = llm.configurable_fields(routing=ConfigurableField(id="routing"))
    configured = configurable.invoke(HARD_QUERY, config={"configurable": {"routing": {"alpha": 0.0}}})
    assert configured.response_metadata["model_name"] == "cheap"
    assert configurable.invoke(HARD_QUERY).response_metadata["model_name"] == "strong"
    assert llm.invoke(EASY_QUERY, model="strong").response_metadata["model_name"] == "strong"
    assert llm.invoke(HARD_QUERY, allowed=["cheap"]).response_metadata["model_name"] == "cheap"
    with pytest.raises(UnknownModelError):
        llm.invoke(HARD_QUERY, model="nope")


def test_records_one_partial_outcome_per_call_with_cost_from_prices(lc_router):
    llm = scope_model(lc_router)
    text = "Please translate 'good night' into French."
    reply = llm.invoke(text)
    llm.flush()
    run_id = reply.response_metadata["scope"]["run_id"]
    stored = lc_router.store.outcome(run_id)
    usage = reply.usage_metadata
    assert stored["m"] == reply.response_metadata["model_name"]
    assert (stored["it"], stored["ot"]) == (usage["input_tokens"], usage["output_tokens"])
    spec = {"cheap": CHEAP, "strong": STRONG}[stored["m"]]
    assert stored["c"] == pytest.approx(spec.cost(usage["input_tokens"], usage["output_tokens"]))
    assert "s" not in stored  # not scored yet
    records = lc_router.store.outcomes_for([text_hash(text)])
    assert [r["m"] for r in records] == [stored["m"]]  # only the chosen model: partial feedback


def test_stream_uses_one_candidate_and_closes_with_the_decision(lc_router):
    llm = scope_model(lc_router, alpha=0.8)
    chunks = list(llm.stream(HARD_QUERY))
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    assert chunks[-1].chunk_position == "last"
    assert full.response_metadata["model_name"] == "strong"
    assert full.text.startswith("[strong]")
    assert full.usage_metadata["output_tokens"] > 0
    assert len(fake(llm, "cheap").calls) == 0
    llm.flush()
    assert lc_router.store.outcome(full.response_metadata["scope"]["run_id"])["m"] == "strong"


async def test_astream_events_come_from_the_chosen_candidate(lc_router):
    llm = scope_model(lc_router, alpha=0.8)
    events = [e async for e in llm.astream_events(EASY_QUERY, version="v2")]
    streamed = "".join(e["data"]["chunk"].text for e in events if e["event"] == "on_chat_model_stream")
    end = next(e for e in events if e["event"] == "on_chat_model_end")
    assert streamed.startswith("[cheap]")
    assert end["data"]["output"].response_metadata["model_name"] == "cheap"
    assert end["data"]["output"].response_metadata["scope"]["model"] == "cheap"


def test_tools_bind_only_to_tool_capable_candidates_and_history_passes_intact(lc_router):
    llm = scope_model(lc_router, PLAIN, STRONG, alpha=0.0)
    assert llm.invoke("Weather in Paris?").response_metadata["model_name"] == "plain"
    with_tools = llm.bind_tools([get_weather])
    call = with_tools.invoke("What is the weather in Paris?")
    assert call.response_metadata["model_name"] == "strong"
    assert call.tool_calls[0]["name"] == "get_weather"
    history = [
        HumanMessage("What is the weather in Paris?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "c1", "type": "tool_call"}]),
        ToolMessage("It is sunny in Paris.", tool_call_id="c1"),
    ]
    answer = with_tools.invoke(history)
    received = fake(llm, "strong").calls[-1].messages
    assert received[1].tool_calls == history[1].tool_calls and received[2].tool_call_id == "c1"
    assert "sunny" in answer.text


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
def test_structured_output(lc_router, method):
    llm = scope_model(lc_router, PLAIN, STRONG, alpha=0.0)
    person = llm.with_structured_output(Person, method=method).invoke("Record 'Ada', aged 36.")
    assert person == Person(name="Ada", age=36)
    raw = llm.with_structured_output(Person, method=method, include_raw=True).invoke("Record 'Alan', aged 41.")
    assert raw["raw"].response_metadata["model_name"] == "strong"  # 'plain' cannot do it
    assert raw["parsed"] == Person(name="Alan", age=41)


def test_failing_candidate_falls_back_and_the_failure_is_recorded(lc_router):
    llm = scope_model(lc_router, alpha=0.8)
    fake(llm, "strong").error = TimeoutError("upstream timed out")
    reply = llm.invoke(HARD_QUERY)
    assert reply.response_metadata["model_name"] == "cheap"
    scope = reply.response_metadata["scope"]
    assert scope["chosen"] == "strong" and "TimeoutError" in scope["failed"]["strong"]
    streamed = list(llm.stream(HARD_QUERY))
    assert sum(streamed[1:], streamed[0]).response_metadata["model_name"] == "cheap"
    llm.flush()
    failure = lc_router.store.outcome(f"{scope['run_id']}:strong:failed")
    assert failure["m"] == "strong" and "upstream timed out" in failure["err"]


def test_error_only_when_every_allowed_candidate_fails(lc_router):
    from scope_langchain import AllCandidatesFailedError

    llm = scope_model(lc_router)
    for name in ("cheap", "strong"):
        fake(llm, name).error = ConnectionError(f"{name} is down")
    with pytest.raises(AllCandidatesFailedError) as info:
        llm.invoke(EASY_QUERY)
    assert set(info.value.errors) == {"cheap", "strong"}


def test_budget_observes_the_cost_of_each_call(lc_router):
    budget = BudgetGovernor(budget_usd=0.01, expected_calls=3)
    llm = scope_model(lc_router, budget=budget)
    replies = llm.batch([EASY_QUERY, HARD_QUERY, "What is 2 + 2?"])
    assert budget.calls == 3
    assert budget.spent == pytest.approx(sum(r.response_metadata["scope"]["cost_usd"] for r in replies))


class _Trace(BaseCallbackHandler):
    def __init__(self) -> None:
        self.metadata: list[dict] = []
        self.ended: list[str] = []

    def on_chat_model_start(self, serialized, messages, *, metadata=None, **kwargs) -> None:
        self.metadata.append(metadata or {})

    def on_llm_end(self, response, **kwargs) -> None:
        self.ended.append(response.generations[0][0].message.response_metadata["model_name"])


def test_one_run_per_call_starts_as_the_router_and_ends_naming_the_chosen_candidate(lc_router):
    llm = scope_model(lc_router, alpha=0.8)
    seen = _Trace()
    llm.invoke(HARD_QUERY, config={"callbacks": [seen]})
    assert len(seen.metadata) == 1  # the candidate runs inside the router's run
    assert (seen.metadata[0]["ls_model_name"], seen.metadata[0]["ls_provider"]) == ("scope-router", "scope")
    assert seen.ended == ["strong"]
    llm.invoke(HARD_QUERY, model="cheap", config={"callbacks": [seen]})  # a forced model is known at the start
    assert (seen.metadata[1]["ls_model_name"], seen.metadata[1]["ls_provider"]) == ("cheap", "scripted")
