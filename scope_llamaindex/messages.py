"""LlamaIndex ChatMessages as scope_core Turns, and the tags that name the model behind a response."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse, ImageBlock, ToolCallBlock

from scope_core import Turn
from scope_core.text.turns import turn_text

MODEL_KEY = "scope_model"  # additional_kwargs key: the candidate that produced a response
RUN_KEY = "scope_run_id"  # additional_kwargs key: the id to pass to router.feedback(run_id, score)
SCOPE_KEY = "scope"  # additional_kwargs key of an answer (a stream's last chunk): the call's metadata
_TAGS = (MODEL_KEY, RUN_KEY, SCOPE_KEY)

_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "chatbot": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
}


def _tool_call_names(message: ChatMessage) -> tuple[str, ...]:
    names = [b.tool_name for b in message.blocks if isinstance(b, ToolCallBlock)]
    for call in message.additional_kwargs.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else getattr(call, "function", None)
        name = function.get("name") if isinstance(function, dict) else getattr(function, "name", None)
        name = name or (call.get("tool_name") if isinstance(call, dict) else getattr(call, "tool_name", None))
        if name:
            names.append(str(name))
    return tuple(names)


def to_turns(messages: Sequence[ChatMessage]) -> list[Turn]:
    """The conversation as Turns; scope_core.routing_text decides what the call is routed on."""
    return [
        Turn(_ROLES.get(str(m.role.value), "user"), turn_text(m.content or "", has_images([m])), _tool_call_names(m))
        for m in messages
    ]


def untagged(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """Messages without our tags, so a candidate never sends them to its provider."""
    out = []
    for m in messages:
        if any(key in m.additional_kwargs for key in _TAGS):
            kwargs = {k: v for k, v in m.additional_kwargs.items() if k not in _TAGS}
            m = m.model_copy(update={"additional_kwargs": kwargs})
        out.append(m)
    return out


def has_images(messages: Sequence[ChatMessage]) -> bool:
    """Whether any message carries an image block (the call then needs a vision model)."""
    return any(isinstance(b, ImageBlock) for m in messages for b in m.blocks)


def tag(response: ChatResponse | CompletionResponse, model: str, run_id: str, **more: Any) -> None:
    """Name the producing model and the run id (and ``more``) on the response and on its message."""
    tags: dict[str, Any] = {MODEL_KEY: model, RUN_KEY: run_id, **more}
    response.additional_kwargs.update(tags)
    if isinstance(response, ChatResponse):
        response.message.additional_kwargs.update(tags)


def producer(response: ChatResponse) -> str | None:
    """The candidate that produced a response, from its tags."""
    return response.message.additional_kwargs.get(MODEL_KEY) or response.additional_kwargs.get(MODEL_KEY)
