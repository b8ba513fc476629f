"""A FunctionAgent whose every LLM call is routed: the question and the tool-reading step may go to
different models. Runs offline with scripted models.

Run: HF_HUB_OFFLINE=1 .venv/bin/python examples/llamaindex_function_agent.py
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage

from scope_core import BehaviourStore, Router
from scope_llamaindex import ScopeLLM, capture_calls, llm_candidate
from scope_llamaindex.testing import ScriptedLLM


def get_weather(city: str) -> str:
    """Today's weather report for a city."""
    return f"{city}: 18 degrees Celsius, light rain, wind 12 km/h."


def script(messages: list[ChatMessage], tools: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """What a real model would do: call the tool, then answer from its result."""
    if messages[-1].role.value == "tool":
        return f"Today in {messages[-1].content}", []
    return "", [{"name": "get_weather", "args": {"city": "Lisbon"}}]


async def main() -> None:
    router = Router(BehaviourStore.ephemeral())
    llm = ScopeLLM(
        router=router,
        candidates=[
            llm_candidate("small", ScriptedLLM(model="small", reply=script), 0.15, 0.6),
            llm_candidate("large", ScriptedLLM(model="large", reply=script, tool_format="kwargs"), 2.5, 10.0),
        ],
    )
    agent = FunctionAgent(tools=[get_weather], llm=llm, system_prompt="You answer weather questions.")
    with capture_calls() as calls:
        result = await agent.run(user_msg="What is the weather in Lisbon?")
    print("answer:", result)
    for call in calls:
        print(f"step {call.routing_text[:60]!r} -> {call.model} (${call.cost_usd:.8f})")
        router.feedback(call.run_id, 1.0)


if __name__ == "__main__":
    asyncio.run(main())
