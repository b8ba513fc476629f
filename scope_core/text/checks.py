"""Checks on what callers pass in (prompts, conversations), and the over-long prompt limit.

Prompts longer than ``MAX_PROMPT_CHARS`` characters are routed and recorded on their last
``MAX_PROMPT_CHARS`` characters (templated and few-shot prompts put the task at hand last); their
input tokens (cost, context fit) are still counted on the whole text.
"""

from __future__ import annotations

from scope_core.errors import InvalidInputError
from scope_core.text.messages import Query, as_turns
from scope_core.text.tokens import TokenCounter
from scope_core.text.turns import RoutingMode, Turn, routing_text

MAX_PROMPT_CHARS = 100_000
_COUNT_CHUNK = 200_000  # characters per token-counter call (bpe-openai refuses 1M)


def check_text(value: object, what: str = "prompt", *, allow_empty: bool = False) -> str:
    """``value`` if it is a non-empty, UTF-8 encodable str; else InvalidInputError naming ``what``."""
    if isinstance(value, bytes | bytearray):
        raise InvalidInputError(f"{what} must be str, got {type(value).__name__}; decode it first")
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be str, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise InvalidInputError(f"{what} is empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{what} is not valid Unicode: lone surrogate {value[exc.start]!r} at character {exc.start}"
        ) from None
    return value


def check_turns(turns: object) -> list[Turn]:
    """A conversation as a list of ``Turn`` (from Turns, OpenAI-style dicts, LangChain or LlamaIndex messages:
    ``scope_core.text.messages``); InvalidInputError names the first bad item."""
    converted = as_turns(turns)
    if not converted:
        raise InvalidInputError("cannot route an empty conversation")
    for i, turn in enumerate(converted):
        check_text(turn.content, f"conversation item {i} content", allow_empty=True)
    return converted


def clip(text: str) -> str:
    """The text a prompt is routed and recorded on: its last ``MAX_PROMPT_CHARS`` characters."""
    return text if len(text) <= MAX_PROMPT_CHARS else text[-MAX_PROMPT_CHARS:]


def chunked_counter(counter: TokenCounter) -> TokenCounter:
    """``counter`` made safe on any length: long texts are counted in chunks cut at whitespace."""

    def count(text: str) -> int:
        if len(text) <= _COUNT_CHUNK:
            return counter(text)
        total, start = 0, 0
        while start < len(text):
            end = min(start + _COUNT_CHUNK, len(text))
            if end < len(text):
                cut = text.rfind(" ", start + _COUNT_CHUNK // 2, end)
                end = cut if cut > start else end
            total += counter(text[start:end])
            start = end
        return total

    return count


def query_text(query: Query, mode: RoutingMode = "auto") -> str:
    """The text a query is routed on: itself, or its conversation's routing text (``mode``), cut to its last
    ``MAX_PROMPT_CHARS`` characters. Bad input raises InvalidInputError."""
    if isinstance(query, str | bytes | bytearray):
        return clip(check_text(query, "query"))
    text = routing_text(check_turns(query), mode)
    if not text.strip():
        raise InvalidInputError("cannot route an empty query: the conversation has no text")
    return clip(text)


def prompt_text(query: Query) -> str:
    """All the text a query sends (its input tokens, hence its cost, are counted on it)."""
    return query if isinstance(query, str) else "\n".join(t.content for t in as_turns(query))
