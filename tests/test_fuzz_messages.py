"""Hypothesis fuzzing of the adapters' message translators: any message becomes Turns the router either
refuses with its one library error or builds a routing text from in every mode."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, TextBlock

from scope_core import Turn, routing_text
from scope_core.errors import InvalidInputError
from scope_core.text.checks import check_turns
from scope_langchain.messages import to_turns as langchain_turns
from scope_llamaindex.messages import to_turns as llamaindex_turns

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(max_size=30)
BLOCK = st.one_of(
    TEXT.map(lambda t: {"type": "text", "text": t}),
    st.just({"type": "image", "url": "https://example.com/a.png"}),
    st.just({"type": "image_url", "image_url": {"url": "https://example.com/b.png"}}),
    st.dictionaries(st.sampled_from(["type", "x"]), TEXT, max_size=2),
)
CONTENT = st.one_of(TEXT, st.lists(st.one_of(TEXT, BLOCK), max_size=3))
LC_MESSAGE = st.one_of(
    CONTENT.map(HumanMessage),
    CONTENT.map(SystemMessage),
    CONTENT.map(AIMessage),
    TEXT.map(lambda t: ToolMessage(t, tool_call_id="1")),
)
LI_BLOCK = st.one_of(TEXT.map(lambda t: TextBlock(text=t)), st.just(ImageBlock(url="https://example.com/a.png")))
LI_MESSAGE = st.builds(
    lambda role, blocks: ChatMessage(role=role, blocks=blocks),
    st.sampled_from(["user", "assistant", "system", "tool", "developer"]),
    st.lists(LI_BLOCK, max_size=3),
)


def _routable(turns: list[Turn]) -> None:
    assert all(isinstance(t, Turn) and isinstance(t.content, str) for t in turns)
    try:
        check_turns(turns)
    except InvalidInputError:
        return  # refused with the library's error: fine
    for mode in ("auto", "last_user", "conversation"):
        assert isinstance(routing_text(turns, mode), str)


@FUZZ
@given(st.lists(LC_MESSAGE, min_size=1, max_size=4))
def test_langchain_messages_translate(messages):
    _routable(langchain_turns(messages))


@FUZZ
@given(st.lists(LI_MESSAGE, min_size=1, max_size=4))
def test_llamaindex_messages_translate(messages):
    _routable(llamaindex_turns(messages))
