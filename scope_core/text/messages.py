"""Conversations as callers hold them, as ``Turn``s: OpenAI-style dicts, LangChain and LlamaIndex messages,
``(role, text)`` pairs. Messages are read by their attributes (``role``/``type``, ``content``, ``blocks``,
``tool_calls``): nothing of either framework is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scope_core.errors import InvalidInputError
from scope_core.text.turns import Turn, turn_text

Query = str | Turn | Mapping[str, Any] | Sequence[Any]  # what Router.route and Router.start take

ROLES = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "model": "assistant",
    "chatbot": "assistant",
    "system": "system",
    "developer": "system",
    "tool": "tool",
    "function": "tool",
}
_IMAGE_PARTS = {"image", "image_url", "input_image"}
_ACCEPTED = "str, scope_core.Turn, {'role', 'content'} dicts, (role, text) pairs or LangChain/LlamaIndex messages"


def _parts(parts: Sequence[Any]) -> tuple[str, bool]:
    """The text of content parts (OpenAI parts, LangChain blocks, LlamaIndex blocks) and whether one is an image."""
    texts, images = [], False
    for part in parts:
        kind = part.get("type") if isinstance(part, Mapping) else getattr(part, "block_type", None)
        if isinstance(part, str):
            texts.append(part)
        elif kind in _IMAGE_PARTS:
            images = True
        elif kind in ("text", "input_text", None):
            text = part.get("text") if isinstance(part, Mapping) else getattr(part, "text", None)
            texts.append(text if isinstance(text, str) else "")
    return "".join(texts), images


def _call_names(calls: Any) -> tuple[str, ...]:
    """Names of the tools a message called: LangChain ``{"name"}``, OpenAI ``{"function": {"name"}}`` or objects."""
    names = []
    for call in calls or ():
        get = call.get if isinstance(call, Mapping) else lambda key, c=call: getattr(c, key, None)
        function = get("function")
        name = get("name") or get("tool_name") or (function.get("name") if isinstance(function, Mapping) else None)
        if name:
            names.append(str(name))
    return tuple(names)


def as_turn(item: Any, i: int = 0) -> Turn:
    """One conversation item as a Turn; InvalidInputError names an item or role it cannot read."""
    if isinstance(item, Turn):
        return item
    blocks: Sequence[Any] = ()
    if isinstance(item, Mapping):
        role, content, calls = item.get("role"), item.get("content"), item.get("tool_calls")
    elif isinstance(item, tuple) and len(item) == 2:
        (role, content), calls = item, None
    elif hasattr(item, "content") and (hasattr(item, "role") or hasattr(item, "type")):
        role = getattr(item, "role", None) or getattr(item, "type", None)
        content, blocks = item.content, getattr(item, "blocks", None) or ()
        calls = getattr(item, "tool_calls", None) or (getattr(item, "additional_kwargs", None) or {}).get("tool_calls")
        calls = [*(calls or ()), *(b for b in blocks if getattr(b, "block_type", None) == "tool_call")]
    else:
        raise InvalidInputError(f"conversation item {i} is {type(item).__name__}; pass {_ACCEPTED}")
    name = str(getattr(role, "value", role)).lower()
    if name not in ROLES:
        raise InvalidInputError(f"conversation item {i} has role {role!r}; expected one of {', '.join(sorted(ROLES))}")
    if content is None or isinstance(content, str):
        text, images = content or "", _parts(blocks)[1]
    elif isinstance(content, Sequence):
        text, images = _parts(content)
    else:
        raise InvalidInputError(f"conversation item {i} content is {type(content).__name__}, expected str or parts")
    return Turn(ROLES[name], turn_text(text, images), _call_names(calls))


def as_turns(query: Any) -> list[Turn]:
    """A conversation (a sequence of items, or one message, dict or ``(role, text)`` pair) as Turns."""
    pair = isinstance(query, tuple) and len(query) == 2 and isinstance(query[0], str)
    one = pair or isinstance(query, Mapping | Turn) or hasattr(query, "content")
    if not one and (isinstance(query, str | bytes | bytearray) or not isinstance(query, Sequence)):
        raise InvalidInputError(f"a conversation must be a sequence of messages, got {type(query).__name__}")
    return [as_turn(item, i) for i, item in enumerate([query] if one else query)]
