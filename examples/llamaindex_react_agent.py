"""A ReActAgent (text-only reasoning, no function calling) over routed models. Runs offline.

Run: HF_HUB_OFFLINE=1 .venv/bin/python examples/llamaindex_react_agent.py
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from llama_index.core.agent.workflow import ReActAgent
from llama_index.core.base.llms.types import ChatMessage

from scope_core import BehaviourStore, Router
from scope_llamaindex import ScopeLLM, capture_calls, llm_candidate
from scope_llamaindex.testing import ScriptedLLM


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def script(messages: list[ChatMessage], tools: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """ReAct text: an Action first, then the Answer once an Observation came back."""
    last = messages[-1].content or ""
    if last.startswith("Observation:"):
        return f"Thought: I can answer without using any more tools.\nAnswer: {last.split(':', 1)[1].strip()}", []
    return f"Thought: I need a tool.\nAction: multiply\nAction Input: {json.dumps({'a': 6, 'b': 7})}", []


async def main() -> None:
    router = Router(BehaviourStore.ephemeral())
    candidates = [
        llm_candidate("small", ScriptedLLM(model="small", reply=script), 0.15, 0.6),
        llm_candidate("large", ScriptedLLM(model="large", reply=script), 2.5, 10.0),
    ]
    agent = ReActAgent(tools=[multiply], llm=ScopeLLM(candidates=candidates, router=router, alpha=0.7))
    with capture_calls() as calls:
        result = await agent.run(user_msg="What is 6 times 7?")
    print("answer:", str(result).strip())
    for call in calls:
        print(f"{call.model}: {call.decision.reason}")


if __name__ == "__main__":
    asyncio.run(main())
