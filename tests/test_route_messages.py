"""Router.route and Router.start take a conversation as the caller holds it: Turns, OpenAI-style dicts,
(role, text) pairs, LangChain or LlamaIndex messages; all route on the same text."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage

from scope_core import Router, Turn, text_hash
from scope_core.errors import InvalidInputError

QUESTION = "Compute the integral of x^5 times sin(x) from 0 to pi"
TURNS = [Turn("system", "Be brief."), Turn("user", QUESTION), Turn("assistant", "", ("calculator",)), Turn("tool", "7")]

FORMS = {
    "openai dicts": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
        {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "calculator", "arguments": "{}"}}]},
        {"role": "tool", "content": "7", "tool_call_id": "1"},
    ],
    "langchain": [
        SystemMessage("Be brief."),
        HumanMessage(QUESTION),
        AIMessage("", tool_calls=[{"name": "calculator", "args": {}, "id": "1"}]),
        ToolMessage("7", tool_call_id="1"),
    ],
    "llamaindex": [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content=QUESTION),
        ChatMessage(
            role="assistant", content="", additional_kwargs={"tool_calls": [{"function": {"name": "calculator"}}]}
        ),
        ChatMessage(role="tool", content="7"),
    ],
    "pairs": [("system", "Be brief."), ("user", QUESTION), ("assistant", ""), ("tool", "7")],
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_route_and_start_take_every_message_form(router: Router, form: str):
    expected = router.route(TURNS)
    decision = router.route(FORMS[form])
    assert decision.query_hash == expected.query_hash and decision.chosen == expected.chosen
    call = router.start(FORMS[form], record=False)
    assert call.text == router.start(TURNS, record=False).text


def test_one_message_is_a_one_turn_conversation(router: Router):
    single = router.route({"role": "user", "content": QUESTION})
    assert single.query_hash == text_hash(QUESTION) == router.route(HumanMessage(QUESTION)).query_hash


def test_an_unknown_role_or_item_is_named(router: Router):
    with pytest.raises(InvalidInputError, match="item 1 has role 'boss'"):
        router.route([{"role": "user", "content": "hi"}, {"role": "boss", "content": "do it"}])
    with pytest.raises(InvalidInputError, match=r"item 0 is int; pass str, scope_core\.Turn"):
        router.route([3])
