"""Function calling: the chosen model prepares the call, and the model that answered parses it."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool

from scope_core import NoCandidateError
from scope_llamaindex import MODEL_KEY, ScopeLLM, llm_candidate
from scope_llamaindex.testing import ScriptedLLM


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


TOOL = FunctionTool.from_defaults(fn=multiply)


def calls_multiply(messages: list[ChatMessage], tools: list[str]) -> tuple[str, list[dict[str, Any]]]:
    return ("", [{"name": "multiply", "args": {"a": 6, "b": 7}}]) if tools else ("no tools", [])


@pytest.fixture
def tool_llm(make_llm, cheap, strong) -> ScopeLLM:
    cheap.reply = strong.reply = calls_multiply
    return make_llm()


@pytest.mark.parametrize("chosen", ["cheap", "strong"])
def test_the_chosen_model_prepares_the_call_and_parses_its_own_response(tool_llm, cheap, strong, chosen):
    response = tool_llm.chat_with_tools([TOOL], user_msg="What is 6 times 7?", allowed=[chosen])
    model = {"cheap": cheap, "strong": strong}[chosen]
    other = strong if chosen == "cheap" else cheap

    assert response.message.additional_kwargs[MODEL_KEY] == chosen
    assert model.calls[-1][2]["prepared_by"] == chosen and other.calls == []
    selections = tool_llm.get_tool_calls_from_response(response)
    assert [(s.tool_name, s.tool_kwargs) for s in selections] == [("multiply", {"a": 6, "b": 7})]
    assert other.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []  # formats differ


async def test_streamed_tool_calls_are_parseable_on_every_chunk(tool_llm, strong):
    stream = await tool_llm.astream_chat_with_tools([TOOL], user_msg="What is 6 times 7?", allowed=["strong"])
    parsed = [tool_llm.get_tool_calls_from_response(chunk, error_on_no_tool_call=False) async for chunk in stream]
    assert [s.tool_name for s in parsed[-1]] == ["multiply"]
    assert strong.calls[-1][0] == "astream_chat"


async def test_a_fallback_prepares_the_call_for_itself(tool_llm, cheap, strong):
    cheap.error = ConnectionError("cheap is down")
    response = await tool_llm.achat_with_tools([TOOL], user_msg="What is 6 times 7?")
    assert response.message.additional_kwargs[MODEL_KEY] == "strong"
    assert strong.calls[-1][2]["prepared_by"] == "strong"
    assert tool_llm.get_tool_calls_from_response(response)[0].tool_kwargs == {"a": 6, "b": 7}


def test_tool_calls_only_go_to_function_calling_candidates(router):
    plain = ScriptedLLM(model="plain", function_calling=False)
    tools = ScriptedLLM(model="tools", reply=calls_multiply)
    llm = ScopeLLM(
        router=router,
        candidates=[
            llm_candidate("plain", plain, 0.01, 0.01),
            llm_candidate("tools", tools, 5.0, 5.0),
        ],
    )
    assert llm.chat([ChatMessage(role="user", content="hi")]).message.additional_kwargs[MODEL_KEY] == "plain"
    response = llm.chat_with_tools([TOOL], user_msg="What is 6 times 7?")
    assert response.message.additional_kwargs[MODEL_KEY] == "tools"
    with pytest.raises(NoCandidateError, match="lacks tools"):
        llm.chat_with_tools([TOOL], user_msg="What is 6 times 7?", allowed=["plain"])


def test_predict_and_call_runs_the_tool(tool_llm):
    assert tool_llm.predict_and_call([TOOL], user_msg="What is 6 times 7?").response == "42"
