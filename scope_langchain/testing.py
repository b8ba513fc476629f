"""ScriptedChatModel: a local, rule-following chat model for tests and offline examples.

Unlike LangChain's built-in fakes it binds tools, calls them with arguments read from the
prompt, honours ``tool_choice``, produces JSON for structured output, streams, and reports
``usage_metadata`` - enough to stand in for a provider model without a network. Its knobs are
those of ``scope_llamaindex.testing.ScriptedLLM``: ``model``, ``reply``, ``error``, ``latency_s``,
``report_usage``, and ``calls`` (what it received); ``cache`` (a ``SimulatedPromptCache``) makes it report prompt
cache reads and writes as its provider would.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, NamedTuple

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from pydantic import ConfigDict, Field

from scope_core.prompt_cache import SimulatedPromptCache
from scope_core.text.tokens import count_tokens
from scope_langchain.structured import json_parser, with_parser

Messages = list[BaseMessage]
Stop = list[str] | None
SyncRun = CallbackManagerForLLMRun | None
AsyncRun = AsyncCallbackManagerForLLMRun | None

_FORCING = {"any", "required"}

# reply(messages, tool names offered) -> the text, or (text, tool calls as {"name": ..., "args": {...}})
Reply = Callable[[list[BaseMessage], list[str]], "str | tuple[str, list[dict[str, Any]]]"]


class Received(NamedTuple):
    """One call a scripted model received."""

    method: str
    messages: list[BaseMessage]
    kwargs: dict[str, Any]


_STOPWORDS = {"get", "tool", "function", "the", "and", "for", "with"}


def _last_user_text(messages: Sequence[BaseMessage]) -> str:
    return next((m.text for m in reversed(messages) if m.type == "human"), "")


def _value_for(schema: dict, text: str, numbers: list[int], quoted: list[str]) -> Any:
    kind = schema.get("type") or next((s.get("type") for s in schema.get("anyOf", []) if s.get("type") != "null"), "")
    if kind in ("integer", "number"):
        return numbers.pop(0) if numbers else 0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return quoted[0] if quoted else text[:80]


def arguments_for(parameters: dict, text: str) -> dict[str, Any]:
    """Arguments for a JSON schema read off a prompt: its integers in order, else its quoted text."""
    numbers = [int(n) for n in re.findall(r"-?\d+", text)]
    quoted = [a or b for a, b in re.findall(r"'([^']+)'|\"([^\"]+)\"", text)]
    props = parameters.get("properties", {})
    return {name: _value_for(prop, text, numbers, quoted) for name, prop in props.items()}


def _mentions(text: str, tool_name: str) -> bool:
    lowered = text.lower()
    words = [w for w in re.split(r"[_\W]+", tool_name.lower()) if len(w) > 2 and w not in _STOPWORDS]
    return tool_name.lower() in lowered or any(w in lowered for w in words)


def _chosen_tool(messages: Sequence[BaseMessage], tools: list[dict], tool_choice: Any) -> dict | None:
    if not tools or tool_choice in ("none", False):
        return None
    by_name = {t["function"]["name"]: t for t in tools}
    if isinstance(tool_choice, dict):
        tool_choice = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
    if isinstance(tool_choice, str) and tool_choice in by_name:
        return by_name[tool_choice]
    forced = tool_choice in _FORCING or tool_choice is True
    if not forced and (not messages or messages[-1].type != "human"):
        return None  # tool results are in: answer
    text = _last_user_text(messages)
    mentioned = [t for name, t in by_name.items() if _mentions(text, name)]
    return mentioned[0] if mentioned else (tools[0] if forced else None)


class ScriptedChatModel(BaseChatModel):
    """A chat model that answers by rule, offline.

    - With tools bound, it calls the tool that ``tool_choice`` forces or the prompt mentions,
      with arguments read from the prompt; after tool results it answers in text.
    - With a JSON ``response_format`` (structured output in JSON mode) it answers a JSON object.
    - Otherwise it answers ``reply`` (a string, or a function of the messages and the offered tool
      names that returns the text or (text, tool calls)), by default ``[model] <last user text>``.
    - ``error`` (if set) is raised on every call, after ``latency_s`` - to script failures.
    """

    model_name: str = Field(default="scripted", alias="model")
    reply: str | Reply | None = None
    error: Exception | None = None
    latency_s: float = 0.0
    report_usage: bool = True
    cache: SimulatedPromptCache | None = Field(default=None, description="the provider's prompt cache, simulated")
    temperature: float | None = None
    max_tokens: int | None = None
    calls: list[Received] = Field(default_factory=list, description="every call received")

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | dict | bool | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self, schema: dict | type, *, method: str = "function_calling", include_raw: bool = False, **kwargs: Any
    ) -> Runnable:
        kwargs.pop("strict", None)
        if method == "function_calling":
            return super().with_structured_output(schema, include_raw=include_raw, **kwargs)
        fmt = {"type": "json_object", "schema": convert_to_json_schema(schema)}
        llm = self.bind(
            response_format=fmt, ls_structured_output_format={"kwargs": {"method": method}, "schema": schema}
        )
        return with_parser(llm, json_parser(schema), include_raw)

    # -- answering -------------------------------------------------------------------------------
    def _answer(self, method: str, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> AIMessage:
        self.calls.append(Received(method, list(messages), dict(kwargs)))
        if self.error is not None:
            raise self.error
        if callable(self.reply):
            return self._scripted(messages, kwargs.get("tools") or [])
        tool = _chosen_tool(messages, kwargs.get("tools") or [], kwargs.get("tool_choice"))
        if tool is not None:
            fn = tool["function"]
            args = arguments_for(fn.get("parameters", {}), _last_user_text(messages))
            call = tool_call(name=fn["name"], args=args, id=f"call_{uuid.uuid4().hex[:12]}")
            return self._with_usage(messages, AIMessage(content="", tool_calls=[call]), kwargs.get("tools"))
        fmt = kwargs.get("response_format")
        if fmt and fmt.get("schema"):
            text = json.dumps(arguments_for(fmt["schema"], _last_user_text(messages)), ensure_ascii=False)
        else:
            text = self._text(messages)
        for s in stop or ():
            text = text.split(s)[0] if s and s in text else text
        return self._with_usage(messages, AIMessage(content=text or "..."), kwargs.get("tools"))

    def _scripted(self, messages: list[BaseMessage], tools: list[dict]) -> AIMessage:
        """What a ``reply`` function says: text, or text and tool calls."""
        said = self.reply(messages, [t["function"]["name"] for t in tools])  # type: ignore[operator]
        text, calls = (said, []) if isinstance(said, str) else said
        made = [tool_call(name=c["name"], args=c["args"], id=f"call_{uuid.uuid4().hex[:12]}") for c in calls]
        return self._with_usage(messages, AIMessage(content=text, tool_calls=made), tools)

    def _text(self, messages: Sequence[BaseMessage]) -> str:
        if self.reply is not None:
            return self.reply
        if messages and messages[-1].type == "tool":
            return f"The tool said: {messages[-1].text}"
        return f"[{self.model_name}] {_last_user_text(messages) or 'hello'}"

    def _with_usage(self, messages: Sequence[BaseMessage], message: AIMessage, tools: list | None = None) -> AIMessage:
        usage = None
        if self.cache is not None:
            out = count_tokens(message.text + json.dumps([c["args"] for c in message.tool_calls]))
            usage = self.cache.langchain_usage(self.cache.call(self.model_name, prompt_parts(messages, tools)), out)
        elif self.report_usage:
            in_tok = sum(count_tokens(m.text) for m in messages)
            out_tok = count_tokens(message.text + json.dumps([c["args"] for c in message.tool_calls]))
            usage = UsageMetadata(input_tokens=in_tok, output_tokens=out_tok, total_tokens=in_tok + out_tok)
        meta = {"model_name": self.model_name, "model_provider": "scripted"}
        return message.model_copy(update={"usage_metadata": usage, "response_metadata": meta})

    def _generate(
        self, messages: Messages, stop: Stop = None, run_manager: SyncRun = None, **kwargs: Any
    ) -> ChatResult:
        time.sleep(self.latency_s)
        return ChatResult(generations=[ChatGeneration(message=self._answer("generate", messages, stop, **kwargs))])

    async def _agenerate(
        self, messages: Messages, stop: Stop = None, run_manager: AsyncRun = None, **kwargs: Any
    ) -> ChatResult:
        await asyncio.sleep(self.latency_s)
        return ChatResult(generations=[ChatGeneration(message=self._answer("agenerate", messages, stop, **kwargs))])

    def _stream(
        self, messages: Messages, stop: Stop = None, run_manager: SyncRun = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        time.sleep(self.latency_s)
        for chunk in _chunks(self._answer("stream", messages, stop, **kwargs)):
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self, messages: Messages, stop: Stop = None, run_manager: AsyncRun = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        await asyncio.sleep(self.latency_s)
        for chunk in _chunks(self._answer("astream", messages, stop, **kwargs)):
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def prompt_parts(messages: Sequence[BaseMessage], tools: list | None) -> list[tuple[str, int]]:
    """A prompt as a provider counts it: the tool definitions, then each message (its text, its tool calls and a
    few tokens of framing), as (text, tokens) parts."""
    parts = [(json.dumps(tools, sort_keys=True), count_tokens(json.dumps(tools)))] if tools else []
    for m in messages:
        calls = json.dumps([c["args"] for c in getattr(m, "tool_calls", None) or ()])
        parts.append(
            (f"{m.type}:{m.text}:{calls}", count_tokens(m.text) + (count_tokens(calls) if calls != "[]" else 0) + 4)
        )
    return parts


def _chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    """A reply as stream chunks: its words, its tool calls, then a closing chunk with usage and metadata."""
    for piece in re.findall(r"\S+\s*", message.text):
        yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
    calls = [
        tool_call_chunk(name=c["name"], args=json.dumps(c["args"], ensure_ascii=False), id=c["id"], index=i)
        for i, c in enumerate(message.tool_calls)
    ]
    if calls:
        yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=calls))
    last = AIMessageChunk(
        content="",
        usage_metadata=message.usage_metadata,
        response_metadata=message.response_metadata,
        chunk_position="last",
    )
    yield ChatGenerationChunk(message=last)
