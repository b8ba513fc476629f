"""Calling the reasoning estimator's LLM: a LangChain chat model (duck-typed: ``invoke``/``ainvoke``
returning a message) or a plain callable ``(prompt: str) -> str`` (sync or async).

scope_core never imports LangChain: a reply is read as a string or through its ``content`` and
``usage_metadata`` attributes. Token counts come from the reply's usage when it reports one, else
from counting the prompt and reply (cl100k).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scope_core.text.tokens import count_tokens


@dataclass(frozen=True)
class Reply:
    """The LLM's text and the tokens the call used."""

    text: str
    input_tokens: int
    output_tokens: int


def _text_of(result: Any) -> str:
    if isinstance(result, str):
        return result
    content = getattr(result, "content", None)
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)
    raise TypeError(f"the estimator LLM returned {type(result).__name__}, expected a string or a chat message")


def _reply(prompt: str, result: Any) -> Reply:
    text = _text_of(result)
    usage = getattr(result, "usage_metadata", None)
    if isinstance(usage, Mapping) and usage.get("output_tokens") is not None:
        return Reply(text, int(usage.get("input_tokens") or 0), int(usage["output_tokens"]))
    return Reply(text, count_tokens(prompt), count_tokens(text))


class LLMCaller:
    """Calls ``llm`` on a prompt from sync code (``call``) or async code (``acall``, never blocking the loop)."""

    def __init__(self, llm: Any) -> None:
        if not (callable(getattr(llm, "invoke", None)) or callable(llm)):
            raise TypeError(
                f"llm must be a LangChain chat model (with .invoke/.ainvoke) or a callable (prompt) -> str, "
                f"got {type(llm).__name__}"
            )
        self.llm = llm

    def call(self, prompt: str) -> Reply:
        """One call from a thread without a running event loop (the estimator's worker threads)."""
        invoke = getattr(self.llm, "invoke", None)
        result = invoke(prompt) if callable(invoke) else self.llm(prompt)
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
        return _reply(prompt, result)

    async def acall(self, prompt: str) -> Reply:
        """One call from async code: ``ainvoke`` or an async callable is awaited, sync ones run in a thread."""
        ainvoke = getattr(self.llm, "ainvoke", None)
        invoke = getattr(self.llm, "invoke", None)
        if callable(ainvoke):
            result = await ainvoke(prompt)
        elif callable(invoke):
            result = await asyncio.to_thread(invoke, prompt)
        elif inspect.iscoroutinefunction(self.llm):
            result = await self.llm(prompt)
        else:
            result = await asyncio.to_thread(self.llm, prompt)
        if inspect.isawaitable(result):
            result = await result
        return _reply(prompt, result)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
