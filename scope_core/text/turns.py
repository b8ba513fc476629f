"""The text a call is routed on, built from a conversation (shared by every adapter).

Adapters translate their framework's messages into ``Turn`` objects; the rules live here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scope_core.errors import InvalidInputError

RoutingMode = Literal["auto", "last_user", "conversation"]


@dataclass(frozen=True)
class Turn:
    """One message: role is 'system', 'user', 'assistant' or 'tool'."""

    role: str
    content: str
    tool_calls: tuple[str, ...] = ()  # names of tools an assistant turn called


def routing_text(turns: Sequence[Turn], mode: RoutingMode = "auto", max_chars: int = 4000) -> str:
    """Text that stands for the call.

    - ``last_user``: the last user message.
    - ``auto`` (default): the last user message; on later agent steps (tool results after it)
      the latest tool results are appended, so each step is routed on what it must handle now.
    - ``conversation``: all user, assistant and tool text, most recent kept when truncating.
    """
    if not turns:
        raise InvalidInputError("cannot route an empty conversation")
    last_user = max((i for i, t in enumerate(turns) if t.role == "user"), default=None)
    if mode == "conversation" or last_user is None:
        text = "\n".join(t.content for t in turns if t.role != "system" and t.content)
        text = text or "\n".join(t.content for t in turns)
        return text[-max_chars:]
    question = turns[last_user].content
    if mode == "last_user":
        return question[:max_chars]
    tool_results: list[str] = []
    for turn in reversed(turns[last_user + 1 :]):
        if turn.role == "tool":
            tool_results.append(turn.content)
        elif tool_results:
            break
    if not tool_results:
        return question[:max_chars]
    results = "\n".join(reversed(tool_results))
    return f"{question[: max_chars // 2]}\nTool results:\n{results}"[:max_chars]


IMAGE_PLACEHOLDER = "[image]"  # the routing text of a message that carries only images


def turn_text(text: str, images: bool) -> str:
    """A message's routing text: its own text, or ``IMAGE_PLACEHOLDER`` when it carries only images."""
    return text if text.strip() or not images else IMAGE_PLACEHOLDER


def focus(text: str, max_chars: int = 1000, min_chars: int = 200) -> str:
    """The part of a long prompt to embed: its trailing paragraphs, up to ``max_chars``.

    Few-shot and templated prompts put the task at hand last; embedding their head would match
    prompts by shared exemplars. Paragraphs (blank-line separated) are taken from the end until
    at least ``min_chars`` are gathered; a single over-long tail is cut to its last ``max_chars``.
    """
    if len(text) <= max_chars:
        return text
    parts = [p for p in text.split("\n\n") if p.strip()]
    kept: list[str] = []
    size = 0
    for part in reversed(parts):
        if kept and (size >= min_chars or size + len(part) > max_chars):
            break
        kept.append(part)
        size += len(part) + 2
    return "\n\n".join(reversed(kept))[-max_chars:]
