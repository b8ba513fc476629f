"""Asking a model to profile: a LangChain chat model, a LlamaIndex LLM or a plain (async) callable.

Nothing here imports LangChain or LlamaIndex at module import: models are recognised by their
methods (``ainvoke``, ``acomplete``), and ``chat_model`` imports ``init_chat_model`` only when called.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any

from scope_core.errors import ScopeError
from scope_core.scrub import scrub


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # LangChain content blocks
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)
    return str(content)


def _usage_of(raw: Any) -> tuple[int | None, int | None]:
    """(input, output) tokens of a provider's raw response, where it reports them (OpenAI-style ``usage``)."""
    usage = raw.get("usage") if isinstance(raw, Mapping) else getattr(raw, "usage", None)
    if usage is None:
        return None, None
    get = usage.get if isinstance(usage, Mapping) else lambda key: getattr(usage, key, None)
    return get("prompt_tokens") or get("input_tokens"), get("completion_tokens") or get("output_tokens")


def reply_usage(reply: Any) -> tuple[str, int | None, int | None]:
    """(text, input tokens, output tokens) of an answer: a str, a {"text", "input_tokens", "output_tokens"}
    mapping, a LangChain message (``content``, ``usage_metadata``) or a LlamaIndex response (``text``, ``raw``)."""
    if isinstance(reply, str):
        return reply, None, None
    if isinstance(reply, Mapping):
        return _text_of(reply.get("text", "")), reply.get("input_tokens"), reply.get("output_tokens")
    if hasattr(reply, "content"):
        usage = getattr(reply, "usage_metadata", None) or {}
        return _text_of(reply.content), usage.get("input_tokens"), usage.get("output_tokens")
    if hasattr(reply, "text"):
        return str(reply.text), *_usage_of(getattr(reply, "raw", None))
    raise TypeError(f"an answer must be a str, a mapping or a message with .content, got {type(reply).__name__}")


async def ask(model: Any, prompt: str) -> Any:
    """One answer of ``model`` to ``prompt``, awaited: a LangChain runnable (``ainvoke``), a LlamaIndex LLM
    (``acomplete``), an async callable, or a sync callable (run in a worker thread)."""
    if hasattr(model, "ainvoke"):
        return await model.ainvoke(prompt)
    if hasattr(model, "acomplete"):
        return await model.acomplete(prompt)
    if inspect.iscoroutinefunction(model) or inspect.iscoroutinefunction(getattr(model, "__call__", None)):  # noqa: B004
        return await model(prompt)
    if callable(model):
        return await asyncio.to_thread(model, prompt)
    raise TypeError(f"cannot ask a {type(model).__name__}: pass a chat model, an LLM or a callable prompt -> answer")


def chat_model(ref: str) -> Any:
    """A LangChain chat model from ``provider:name`` (``langchain.chat_models.init_chat_model``)."""
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise ScopeError(
            f"--model {ref} needs LangChain: pip install 'scope-router[langchain]' and the provider's package"
        ) from None
    try:
        return init_chat_model(ref)
    except ImportError as exc:
        raise ScopeError(f"cannot load {ref!r}: {exc}") from None
    except Exception as exc:  # a provider's client refusing to start (no API key...): the user's to fix
        detail = scrub(" ".join(f"{type(exc).__name__}: {exc}".split()))[:300]
        raise ScopeError(f"cannot create {ref!r}: {detail} (is its API key set? --dry-run needs none)") from None
