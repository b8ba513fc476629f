"""LangChain messages become scope_core Turns; the routing text of an agent step follows the tool results."""

from langchain_core.messages import AIMessage, ChatMessage, HumanMessage, SystemMessage, ToolMessage

from scope_core import routing_text
from scope_langchain import to_turns
from scope_langchain.messages import has_images

HISTORY = [
    SystemMessage("You are terse."),
    HumanMessage([{"type": "text", "text": "Weather in Oslo?"}]),
    AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "1", "type": "tool_call"}]),
    ToolMessage("Oslo: 3 degrees, snow.", tool_call_id="1"),
]


def test_roles_text_and_tool_call_names():
    turns = to_turns([*HISTORY, ChatMessage(role="developer", content="Be kind.")])
    assert [t.role for t in turns] == ["system", "user", "assistant", "tool", "system"]
    assert turns[1].content == "Weather in Oslo?"  # list content flattened to text
    assert turns[2].tool_calls == ("get_weather",)


def test_later_agent_steps_are_routed_on_the_tool_results():
    assert routing_text(to_turns(HISTORY[:2])) == "Weather in Oslo?"
    step = routing_text(to_turns(HISTORY))
    assert step.startswith("Weather in Oslo?") and "Oslo: 3 degrees, snow." in step


def test_image_blocks_are_detected():
    image = HumanMessage([{"type": "text", "text": "What is this?"}, {"type": "image", "url": "https://x/y.png"}])
    assert has_images([image]) and not has_images(HISTORY)
