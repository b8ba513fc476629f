"""LangChain messages -> scope_core ``Turn``s (the routing text rules live in scope_core.routing_text)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, ChatMessage

from scope_core import Capability, Turn
from scope_core.text.turns import turn_text

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "tool"}
_CHAT_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system", "tool": "tool"}
_IMAGE_BLOCKS = {"image", "image_url"}


def role_of(message: BaseMessage) -> str:
    """The Turn role of a message ('user', 'assistant', 'system' or 'tool')."""
    if isinstance(message, ChatMessage):
        return _CHAT_ROLES.get(message.role, "user")
    return _ROLES.get(message.type, "user")


def to_turn(message: BaseMessage) -> Turn:
    """One message as a Turn: its text, and the names of the tools an AI message called."""
    calls = tuple(call["name"] for call in getattr(message, "tool_calls", None) or ())
    return Turn(role=role_of(message), content=turn_text(message.text, has_images([message])), tool_calls=calls)


def to_turns(messages: Sequence[BaseMessage]) -> list[Turn]:
    return [to_turn(m) for m in messages]


def has_images(messages: Sequence[BaseMessage]) -> bool:
    """Whether any message carries an image content block (the call then needs a vision model)."""
    return any(
        isinstance(block, dict) and block.get("type") in _IMAGE_BLOCKS
        for m in messages
        if isinstance(m.content, list)
        for block in m.content
    )


def needs(
    messages: Sequence[BaseMessage], required: Iterable[str] | None, tools: Any, structured: Any
) -> set[Capability]:
    """The capabilities a call needs: the caller's ``required``, tools, structured output, vision for images."""
    needed = {Capability(c) for c in required or ()}
    needed |= {Capability.TOOLS} if tools else set()
    needed |= {Capability.STRUCTURED_OUTPUT} if structured else set()
    return needed | ({Capability.VISION} if has_images(messages) else set())
