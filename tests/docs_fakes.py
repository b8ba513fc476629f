"""Offline stand-ins for the provider classes the docs import: no network, no API key.

Each is a scripted model (``ScriptedChatModel``, ``ScriptedLLM``) under a provider's class name, with a model
profile that declares tool calling, so the docs' snippets run as written. They answer the shipped anchors
with a letter (right on some subjects), SCOPE prompts in SCOPE's format (``heuristic_reply``), and anything
else as scripted models do.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.messages import BaseMessage
from pydantic import Field

from scope_core.estimators.reasoning.local import heuristic_reply
from scope_core.profiling.anchors import MULTIPLE_CHOICE_INSTRUCTION
from scope_langchain.testing import ScriptedChatModel
from scope_llamaindex.testing import ScriptedLLM

PROFILE = {"tool_calling": True, "structured_output": True, "image_inputs": True, "max_input_tokens": 128_000}


def answer(model: str, prompt: str) -> str | None:
    """A provider model's answer to an anchor or a SCOPE prompt; None for anything else."""
    if "Predicted Performance" in prompt:
        return heuristic_reply(prompt)
    if prompt.endswith(MULTIPLE_CHOICE_INSTRUCTION):
        return f"The answer is ({'ABCD'[zlib.crc32(f'{model}|{prompt}'.encode()) % 4]})."
    return None


class _FakeChatModel(ScriptedChatModel):
    """A LangChain provider chat model, offline."""

    profile: dict[str, Any] | None = Field(default_factory=lambda: dict(PROFILE))
    base_url: str | None = None
    api_key: str | None = None
    timeout: float | None = None
    max_retries: int | None = None

    def _text(self, messages: list[BaseMessage]) -> str:
        prompt = messages[-1].text if messages else ""
        return answer(self.model_name, prompt) or super()._text(messages)


class ChatOpenAI(_FakeChatModel):
    model_name: str = Field(default="gpt-4o-mini", alias="model")


class ChatAnthropic(_FakeChatModel):
    model_name: str = Field(default="claude-3-5-haiku-latest", alias="model")


class _FakeLLM(ScriptedLLM):
    """A LlamaIndex provider LLM, offline."""

    api_key: str | None = None
    temperature: float | None = None

    def _said(self, messages, tools):
        prompt = (messages[-1].content or "") if messages else ""
        return answer(self.model, prompt) or super()._said(messages, tools)


class OpenAI(_FakeLLM):
    model: str = "gpt-4o-mini"


class Anthropic(_FakeLLM):
    model: str = "claude-3-5-haiku-latest"


MODULES = {
    "langchain_openai": {"ChatOpenAI": ChatOpenAI},
    "langchain_anthropic": {"ChatAnthropic": ChatAnthropic},
    "llama_index.llms.openai": {"OpenAI": OpenAI},
    "llama_index.llms.anthropic": {"Anthropic": Anthropic},
}


def _module(name: str, attributes: dict[str, Any]) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attributes)
    return module


@contextmanager
def fake_providers() -> Iterator[None]:
    """The provider modules of ``MODULES`` as fakes in ``sys.modules`` (restored after). LangChain's
    ``init_chat_model`` caches each provider's class, so its cache is cleared on the way in and out."""
    from langchain.chat_models.base import _get_chat_model_creator

    saved = {name: sys.modules.get(name) for name in MODULES}
    sys.modules.update({name: _module(name, attributes) for name, attributes in MODULES.items()})
    _get_chat_model_creator.cache_clear()
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        _get_chat_model_creator.cache_clear()
