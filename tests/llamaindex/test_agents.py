"""Agents: every LLM call of a run is its own routing decision, made on the conversation so far."""

from __future__ import annotations

import json
from typing import Any

from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent, ReActAgent
from llama_index.core.base.llms.types import ChatMessage, ToolCallBlock

from scope_core.text.checks import query_text
from scope_llamaindex import ScopeLLM, capture_calls, llm_candidate, to_turns
from scope_llamaindex.testing import ScriptedLLM

SEEN_CITIES = ["Paris", "Rome", "Oslo", "Madrid", "Vienna", "Prague", "Dublin", "Warsaw"]


def question(city: str) -> str:
    return f"What is the weather in {city} today?"


def get_weather(city: str) -> str:
    """Today's weather report for a city."""
    return (
        f"Weather report for {city}: 18 degrees Celsius, light rain in the morning, wind 12 km/h from the "
        "north-west, humidity 80 percent, visibility 10 km, sunset at 20:41."
    )


def weather_agent_reply(messages: list[ChatMessage], tools: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """Call get_weather for the asked city, then answer from the tool's report."""
    if messages[-1].role.value == "tool":
        return f"Here you go. {messages[-1].content}", []
    city = (messages[-1].content or "").rstrip("?").split()[-2]
    return "", [{"name": "get_weather", "args": {"city": city}}]


def tool_step_conversation(city: str) -> list[ChatMessage]:
    call = ToolCallBlock(tool_call_id="c1", tool_name="get_weather", tool_kwargs={"city": city})
    return [
        ChatMessage(role="user", content=question(city)),
        ChatMessage(role="assistant", blocks=[call]),
        ChatMessage(role="tool", content=get_weather(city), additional_kwargs={"tool_call_id": "c1"}),
    ]


async def test_two_calls_of_one_agent_run_go_where_the_store_says(router, seed):
    planner = ScriptedLLM(model="planner", reply=weather_agent_reply, tool_format="blocks")
    reader = ScriptedLLM(model="reader", reply=weather_agent_reply, tool_format="kwargs")
    llm = ScopeLLM(
        router=router,
        candidates=[
            llm_candidate("planner", planner, 1.0, 1.0),
            llm_candidate("reader", reader, 1.0, 1.0),
        ],
    )
    # questions: the planner is right; reading tool results: the reader is right
    seed([question(c) for c in SEEN_CITIES], {"planner": 1.0, "reader": 0.0})
    seed([query_text(to_turns(tool_step_conversation(c))) for c in SEEN_CITIES], {"planner": 0.0, "reader": 1.0})

    agent = FunctionAgent(tools=[get_weather], llm=llm)
    with capture_calls() as calls:
        result = await agent.run(user_msg=question("Lisbon"))

    assert [c.model for c in calls] == ["planner", "reader"]
    assert "Weather report for Lisbon" in str(result)
    assert planner.calls[0][0] == "astream_chat" and reader.calls[0][0] == "astream_chat"  # FunctionAgent streams
    router.flush()
    assert all(router.store.outcome(c.run_id)["m"] == c.model for c in calls)


def react_reply(messages: list[ChatMessage], tools: list[str]) -> tuple[str, list[dict[str, Any]]]:
    if (messages[-1].content or "").startswith("Observation:"):
        answer = messages[-1].content.split(":", 1)[1].strip()
        return f"Thought: I can answer without using any more tools.\nAnswer: {answer}", []
    action = json.dumps({"a": 6, "b": 7})
    return f"Thought: I need a tool to answer.\nAction: multiply\nAction Input: {action}", []


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


async def test_react_agent_routes_each_step(make_llm, router, cheap, strong):
    cheap.reply = strong.reply = react_reply
    agent = ReActAgent(tools=[multiply], llm=make_llm())
    with capture_calls() as calls:
        result = await agent.run(user_msg="What is 6 times 7?")
    assert str(result).strip() == "42"
    assert len(calls) == 2 and all(c.error is None for c in calls)
    router.flush()
    assert router.store.count_outcomes() == 2


async def test_agent_workflow_picks_the_agent_the_pool_supports(router):
    tools_llm = ScriptedLLM(
        label="tools",
        reply=lambda m, t: (
            ("", [{"name": "multiply", "args": {"a": 6, "b": 7}}])
            if m[-1].role.value != "tool"
            else (f"It is {m[-1].content}.", [])
        ),
    )
    text_llm = ScriptedLLM(model="text", reply=react_reply, function_calling=False)
    with_tools = ScopeLLM(candidates=[llm_candidate("tools", tools_llm, 1.0, 1.0)], router=router)
    text_only = ScopeLLM(candidates=[llm_candidate("text", text_llm, 1.0, 1.0)], router=router)

    workflow = AgentWorkflow.from_tools_or_functions([multiply], llm=with_tools)
    assert isinstance(workflow.agents[workflow.root_agent], FunctionAgent)
    assert str(await workflow.run(user_msg="What is 6 times 7?")) == "It is 42."

    workflow = AgentWorkflow.from_tools_or_functions([multiply], llm=text_only)
    assert isinstance(workflow.agents[workflow.root_agent], ReActAgent)
    assert str(await workflow.run(user_msg="What is 6 times 7?")).strip() == "42"
    router.flush()
    assert router.store.count_outcomes() == 4
