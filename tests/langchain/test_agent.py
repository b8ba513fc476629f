"""Inside a LangGraph agent every model call is its own routing decision."""

from __future__ import annotations

import pytest
from langchain_core.tools import tool

from scope_core import Capability, ModelSpec, Turn, routing_text
from tests.langchain.lc_support import new_router, scope_model, seed

SAME_PRICE = {"input_price": 1.0, "output_price": 2.0, "capabilities": frozenset({Capability.TOOLS})}
PLANNER = ModelSpec(name="planner", **SAME_PRICE)
READER = ModelSpec(name="reader", **SAME_PRICE)
CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Vienna", "Lisbon"]


@tool
def get_weather(city: str) -> str:
    """Current weather report of a city."""
    return f"Weather report for {city}: 21 degrees, clear sky, light wind from the west."


def _after_tool(city: str) -> str:
    """The routing text of an agent step that follows a weather tool result."""
    turns = [
        Turn("user", f"What is the weather in '{city}' today?"),
        Turn("assistant", "", ("get_weather",)),
        Turn("tool", get_weather.invoke({"city": city})),
    ]
    return routing_text(turns)


@pytest.fixture
def step_router():
    """Questions: 'planner' succeeds; steps after a tool result: 'reader' succeeds."""
    router = new_router()
    seed(
        router,
        [f"What is the weather in '{c}' today?" for c in CITIES],
        {"planner": 1.0, "reader": 0.0},
        [PLANNER, READER],
    )
    seed(router, [_after_tool(c) for c in CITIES], {"planner": 0.0, "reader": 1.0}, [PLANNER, READER])
    return router


def _agents():
    from langchain.agents import create_agent
    from langgraph.prebuilt import create_react_agent

    return {
        "langgraph.create_react_agent": lambda llm: create_react_agent(llm, [get_weather]),
        "langchain.create_agent": lambda llm: create_agent(llm, [get_weather]),
    }


@pytest.mark.parametrize("kind", ["langgraph.create_react_agent", "langchain.create_agent"])
def test_two_steps_of_one_run_go_to_different_models(step_router, kind):
    llm = scope_model(step_router, PLANNER, READER, alpha=0.9)
    agent = _agents()[kind](llm)
    result = agent.invoke({"messages": [("user", "What is the weather in 'Oslo' today?")]})
    replies = [m for m in result["messages"] if m.type == "ai"]
    assert [m.response_metadata["model_name"] for m in replies] == ["planner", "reader"]
    assert replies[0].tool_calls[0]["name"] == "get_weather"
    assert "Oslo" in replies[1].text  # the reader saw the tool result
    llm.flush()
    assert step_router.store.outcome(replies[1].response_metadata["scope"]["run_id"])["m"] == "reader"
