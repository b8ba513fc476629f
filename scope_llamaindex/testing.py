"""ScriptedLLM: a local, scripted function-calling chat model for tests and offline examples.

It supports tools, streaming, async and token usage, and can be told to fail, so pipelines built on
ScopeLLM can be exercised without a network or an API key. Its knobs are those of
``scope_langchain.testing.ScriptedChatModel``: ``model``, ``reply``, ``error``, ``latency_s``,
``report_usage``, and ``calls`` (what it received); ``cache`` (a ``SimulatedPromptCache``) makes it report prompt
cache reads and writes in its provider's raw usage shape.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Literal, NamedTuple

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    LLMMetadata,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from pydantic import Field

from scope_core.prompt_cache import SimulatedPromptCache
from scope_core.text.tokens import count_tokens

# reply(messages, tool names offered) -> the text, or (text, tool calls as {"name": ..., "args": {...}})
Reply = Callable[[list[ChatMessage], list[str]], "str | tuple[str, list[dict[str, Any]]]"]


class Received(NamedTuple):
    """One call a scripted model received."""

    method: str
    messages: list[ChatMessage]
    kwargs: dict[str, Any]


def words(text: str) -> int:
    return len(text.split())


class ScriptedLLM(FunctionCallingLLM):
    """Replies ``reply`` (a string, or a function of the messages and the offered tool names that returns
    the text or (text, tool calls)), by default ``[model] <last user text>``; ``error`` (if set) is raised
    on every call, after ``latency_s``. ``tool_format`` says how it writes tool calls: ToolCallBlocks
    ("blocks", usage in ``raw.usage``) or OpenAI-style ``additional_kwargs["tool_calls"]`` ("kwargs",
    usage in ``additional_kwargs``); each reads back only its own format."""

    model: str = "scripted"
    reply: str | Reply | None = None
    error: Exception | None = None
    latency_s: float = 0.0
    report_usage: bool = True
    calls: list[Received] = Field(default_factory=list, description="every call received")
    tool_format: Literal["blocks", "kwargs"] = "blocks"
    function_calling: bool = True
    window: int = 8192
    cache: SimulatedPromptCache | None = Field(default=None, description="the provider's prompt cache, simulated")

    @classmethod
    def class_name(cls) -> str:
        return "ScriptedLLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.window,
            num_output=256,
            is_chat_model=True,
            is_function_calling_model=self.function_calling,
            model_name=self.model,
        )

    # -- one reply ---------------------------------------------------------------------------------
    def _message(self, method: str, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatMessage:
        self.calls.append(Received(method, list(messages), dict(kwargs)))
        if not method.startswith("a"):  # the async entry points await their latency themselves
            time.sleep(self.latency_s)
        if self.error is not None:
            raise self.error
        said = self._said(list(messages), list(kwargs.get("tools") or []))
        text, calls = (said, []) if isinstance(said, str) else said
        ids = [f"call-{uuid.uuid4().hex[:8]}" for _ in calls]
        if self.tool_format == "kwargs":
            tool_calls = [
                {"id": i, "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["args"])}}
                for i, c in zip(ids, calls, strict=True)
            ]
            return ChatMessage(role=MessageRole.ASSISTANT, content=text, additional_kwargs={"tool_calls": tool_calls})
        blocks: list[Any] = [TextBlock(text=text)] if text else []
        blocks += [
            ToolCallBlock(tool_call_id=i, tool_name=c["name"], tool_kwargs=c["args"])
            for i, c in zip(ids, calls, strict=True)
        ]
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)

    def _said(self, messages: list[ChatMessage], tools: list[str]) -> str | tuple[str, list[dict[str, Any]]]:
        if callable(self.reply):
            return self.reply(messages, tools)
        if self.reply is not None:
            return self.reply
        last_user = next((m.content for m in reversed(messages) if m.role == MessageRole.USER), None)
        return f"[{self.model}] {last_user or 'hello'}"

    def _usage(self, messages: Sequence[ChatMessage], message: ChatMessage, tools: Any = None) -> dict[str, Any]:
        if self.cache is not None:
            out = count_tokens((message.content or "") + json.dumps(_call_args(message)))
            return {"raw": self.cache.raw_usage(self.cache.call(self.model, prompt_parts(messages, tools)), out)}
        if not self.report_usage:
            return {}
        tokens_in = sum(words(m.content or "") for m in messages) + 3 * len(messages)
        tokens_out = words(message.content or "") + 8 * len(self._tool_calls_of(message))
        if self.tool_format == "kwargs":
            return {"additional_kwargs": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out}}
        return {"raw": {"usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}}

    def _respond(self, method: str, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        message = self._message(method, messages, kwargs)
        return ChatResponse(message=message, **self._usage(messages, message, kwargs.get("tools")))

    def _chunks(self, method: str, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> list[ChatResponse]:
        """Text word by word, then a last chunk with the tool calls and the usage."""
        final = self._message(method, messages, kwargs)
        text, chunks = "", []
        for word in (final.content or "").split(" ") if final.content else []:
            delta = word if not text else " " + word
            text += delta
            chunks.append(ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta))
        chunks.append(ChatResponse(message=final, delta="", **self._usage(messages, final, kwargs.get("tools"))))
        return chunks

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._respond("chat", messages, kwargs)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        await asyncio.sleep(self.latency_s)
        return self._respond("achat", messages, kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Iterator[ChatResponse]:
        def gen() -> Iterator[ChatResponse]:
            yield from self._chunks("stream_chat", messages, kwargs)

        return gen()

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> AsyncIterator[ChatResponse]:
        async def gen() -> AsyncIterator[ChatResponse]:
            await asyncio.sleep(self.latency_s)
            for chunk in self._chunks("astream_chat", messages, kwargs):
                yield chunk

        return gen()

    def _completion(self, method: str, prompt: str) -> CompletionResponse:
        response = self._respond(method, [ChatMessage(role=MessageRole.USER, content=prompt)], {})
        return CompletionResponse(
            text=response.message.content or "", raw=response.raw, additional_kwargs=response.additional_kwargs
        )

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return self._completion("complete", prompt)

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        await asyncio.sleep(self.latency_s)
        return self._completion("acomplete", prompt)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Iterator[CompletionResponse]:
        def gen() -> Iterator[CompletionResponse]:
            done = self._completion("stream_complete", prompt)
            yield CompletionResponse(
                text=done.text, delta=done.text, raw=done.raw, additional_kwargs=done.additional_kwargs
            )

        return gen()

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> AsyncIterator[CompletionResponse]:
        async def gen() -> AsyncIterator[CompletionResponse]:
            await asyncio.sleep(self.latency_s)
            done = self._completion("astream_complete", prompt)
            yield CompletionResponse(
                text=done.text, delta=done.text, raw=done.raw, additional_kwargs=done.additional_kwargs
            )

        return gen()

    # -- function calling -------------------------------------------------------------------------
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[Any],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        messages = list(chat_history or [])
        if user_msg is not None:
            messages.append(
                ChatMessage(role=MessageRole.USER, content=user_msg) if isinstance(user_msg, str) else user_msg
            )
        return {"messages": messages, "tools": [t.metadata.name for t in tools], "prepared_by": self.model, **kwargs}

    def _tool_calls_of(self, message: ChatMessage) -> list[ToolSelection]:
        if self.tool_format == "kwargs":
            return [
                ToolSelection(
                    tool_id=c["id"], tool_name=c["function"]["name"], tool_kwargs=json.loads(c["function"]["arguments"])
                )
                for c in message.additional_kwargs.get("tool_calls") or []
            ]
        return [
            ToolSelection(tool_id=b.tool_call_id or "", tool_name=b.tool_name, tool_kwargs=dict(b.tool_kwargs))  # type: ignore[arg-type]
            for b in message.blocks
            if isinstance(b, ToolCallBlock)
        ]

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        calls = self._tool_calls_of(response.message)
        if not calls and error_on_no_tool_call:
            raise ValueError(f"{self.model}: no tool call in the response")
        return calls


def _call_args(message: ChatMessage) -> list[Any]:
    """The arguments of a message's tool calls, in either format."""
    blocks = [dict(b.tool_kwargs) for b in message.blocks if isinstance(b, ToolCallBlock)]  # type: ignore[arg-type]
    calls = message.additional_kwargs.get("tool_calls") or []
    return blocks + [json.loads(c["function"]["arguments"]) for c in calls]


def prompt_parts(messages: Sequence[ChatMessage], tools: Any) -> list[tuple[str, int]]:
    """A prompt as a provider counts it: the tool definitions, then each message (its text, its tool calls and a
    few tokens of framing), as (text, tokens) parts."""
    parts = [(json.dumps(tools, default=str), count_tokens(json.dumps(tools, default=str)))] if tools else []
    for m in messages:
        text, calls = m.content or "", _call_args(m)
        framing = 4 + (count_tokens(json.dumps(calls)) if calls else 0)
        parts.append((f"{m.role.value}:{text}:{json.dumps(calls)}", count_tokens(text) + framing))
    return parts
