"""Calling the chosen candidate: bind its tools or structured output (``delegate_for``, the adapter's work), then run
its own generate/stream (the model's call: only its errors are the candidate's failures).

The router calls a candidate's ``_generate``/``_stream`` (and async forms) under the router's own run,
so a routed call is ONE run in callbacks and traces, reported under the chosen model's name.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.runnables import Runnable, RunnableBinding, RunnableSequence

_TRACING_ONLY = ("ls_structured_output_format", "structured_output_format")


@dataclass
class Request:
    """What a routed call forwards to whichever candidate answers it."""

    tools: list[dict] | None = None
    tool_choice: Any = None
    structured: dict[str, Any] | None = None  # {"schema", "method", "strict"}: a native JSON mode
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Delegate:
    """A candidate ready to run: the chat model, its call kwargs, and the parser of a native JSON mode."""

    model: BaseChatModel
    kwargs: dict[str, Any]
    parser: Runnable | None = None

    def generate(self, messages: Sequence[BaseMessage], stop: list[str] | None) -> AIMessage:
        if self.model.rate_limiter:
            self.model.rate_limiter.acquire(blocking=True)
        result = self.model._generate(list(messages), stop=stop, **self.kwargs)
        return self._finish(result.generations[0].message)

    async def agenerate(self, messages: Sequence[BaseMessage], stop: list[str] | None) -> AIMessage:
        if self.model.rate_limiter:
            await self.model.rate_limiter.aacquire(blocking=True)
        result = await self.model._agenerate(list(messages), stop=stop, **self.kwargs)
        return self._finish(result.generations[0].message)

    def stream(self, messages: Sequence[BaseMessage], stop: list[str] | None) -> Iterator[AIMessageChunk]:
        if self.parser is not None or type(self.model)._stream is BaseChatModel._stream:
            yield as_chunk(self.generate(messages, stop))
            return
        if self.model.rate_limiter:
            self.model.rate_limiter.acquire(blocking=True)
        for chunk in self.model._stream(list(messages), stop=stop, **self.kwargs):
            yield chunk.message

    async def astream(self, messages: Sequence[BaseMessage], stop: list[str] | None) -> AsyncIterator[AIMessageChunk]:
        native = type(self.model)._astream is not BaseChatModel._astream
        if self.parser is not None or not (native or type(self.model)._stream is not BaseChatModel._stream):
            yield as_chunk(await self.agenerate(messages, stop))
            return
        if self.model.rate_limiter:
            await self.model.rate_limiter.aacquire(blocking=True)
        async for chunk in self.model._astream(list(messages), stop=stop, **self.kwargs):
            yield chunk.message

    def _finish(self, message: BaseMessage) -> AIMessage:
        if not isinstance(message, AIMessage):
            raise TypeError(f"candidate returned {type(message).__name__}, expected an AIMessage")
        if self.parser is None:
            return message
        parsed = self.parser.invoke(message)
        data = (
            parsed.model_dump()
            if hasattr(parsed, "model_dump")
            else parsed.dict()
            if hasattr(parsed, "dict")
            else parsed
        )
        return message.model_copy(update={"content": json.dumps(data, ensure_ascii=False), "tool_calls": []})


def _unbind(runnable: Runnable, what: str) -> tuple[BaseChatModel, dict[str, Any]]:
    if isinstance(runnable, RunnableBinding) and isinstance(runnable.bound, BaseChatModel):
        kwargs = {k: v for k, v in runnable.kwargs.items() if k not in _TRACING_ONLY}
        return runnable.bound, kwargs
    raise TypeError(
        f"{what} must return a binding of the chat model, e.g. self.bind(tools=...), got {type(runnable).__name__}"
    )


def delegate_for(model: BaseChatModel, request: Request) -> Delegate:
    """Bind a request's tools or JSON-mode structured output to one candidate."""
    if request.structured is not None:
        spec = request.structured
        extra = {"strict": spec["strict"]} if spec.get("strict") is not None else {}
        runnable = model.with_structured_output(spec["schema"], method=spec["method"], **extra)
        steps = runnable.steps if isinstance(runnable, RunnableSequence) else [runnable]
        bound, kwargs = _unbind(steps[0], "with_structured_output")
        parser = steps[1] if len(steps) == 2 else RunnableSequence(*steps[1:])
        return Delegate(bound, {**kwargs, **request.kwargs}, parser)
    if request.tools:
        choice = {"tool_choice": request.tool_choice} if request.tool_choice is not None else {}
        bound, kwargs = _unbind(model.bind_tools(request.tools, **choice), "bind_tools")
        return Delegate(bound, {**kwargs, **request.kwargs})
    return Delegate(model, dict(request.kwargs))


def as_chunk(message: AIMessage) -> AIMessageChunk:
    """A whole reply as one stream chunk (for candidates that cannot stream)."""
    chunks = [
        tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c.get("id"), index=i)
        for i, c in enumerate(message.tool_calls)
    ]
    return AIMessageChunk(
        content=message.content,
        additional_kwargs=message.additional_kwargs,
        response_metadata=message.response_metadata,
        usage_metadata=message.usage_metadata,
        tool_call_chunks=chunks,
        id=message.id,
    )


def standard_params_applied(model: BaseChatModel, params: Mapping[str, Any]) -> BaseChatModel:
    """A copy of a candidate with the router's standard params set, where the candidate has such a field."""
    fields = type(model).model_fields
    by_name = {alias: name for name, f in fields.items() for alias in (name, f.alias) if alias}
    update = {by_name[k]: v for k, v in params.items() if v is not None and k in by_name}
    return model.model_copy(update=update) if update else model


def passed_on(chunk: AIMessageChunk) -> AIMessageChunk:
    """A candidate's chunk as the router streams it: its model name and end marker come from the router."""
    meta = chunk.response_metadata
    if "model_name" not in meta and chunk.chunk_position is None:
        return chunk
    kept = {k: v for k, v in meta.items() if k != "model_name"}
    return chunk.model_copy(update={"response_metadata": kept, "chunk_position": None})
