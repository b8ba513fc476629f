"""ScopeLLM: a LlamaIndex FunctionCallingLLM that routes every call, pre-hoc, to one of its candidates."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.dispatcher import Dispatcher
from llama_index.core.llms import LLM
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from pydantic import Field, PrivateAttr

from scope_core import BudgetGovernor, Capability, Decision, Router, Turn, UnknownModelError

from .candidates import Candidate, register_pool, supports_tools
from .events import OutcomeRecorder, ScopeCallEndEvent, note_call
from .messages import producer, tag, to_turns, untagged
from .usage import reported_usage

if TYPE_CHECKING:
    from llama_index.core.tools import BaseTool

ROUTING_KWARGS = ("alpha", "max_cost", "min_accuracy", "allowed", "required", "budget")
_CALL = "scope_call"  # carries a routed call from _prepare_chat_with_tools to chat
_module_dispatcher = get_dispatcher(__name__)
R = TypeVar("R", ChatResponse, CompletionResponse)
Invoke = Callable[[LLM, dict[str, Any]], Any]


@dataclass
class _Call:
    """One routed call: the decision, what it was routed on, and how to prepare it for a fallback."""

    decision: Decision
    text: str
    messages: list[ChatMessage] | None
    prompt: str | None
    budget: BudgetGovernor | None
    tool_args: dict[str, Any] | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def run_id_of(self, attempt: int) -> str:
        return self.run_id if attempt == 0 else f"{self.run_id}-{attempt}"


def _conversation(chat_history: Sequence[ChatMessage] | None, user_msg: str | ChatMessage | None) -> list[ChatMessage]:
    messages = list(chat_history or [])
    if isinstance(user_msg, str):
        messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
    elif user_msg is not None:
        messages.append(user_msg)
    return messages


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class ScopeLLM(FunctionCallingLLM):
    """Routes each chat/complete call (streaming, async and function calling included) to one candidate LLM.

    The router predicts every candidate's accuracy and cost from similar past calls and picks one under
    ``alpha`` / ``max_cost`` / ``min_accuracy`` / ``budget``; any of them can be overridden per call as a
    keyword argument. On an error the next candidate of the ranking runs. Each attempt is recorded by an
    instrumentation event handler; the response's ``additional_kwargs["scope_run_id"]`` is the id to pass
    to ``router.feedback(run_id, score)``.
    """

    router: Router = Field(exclude=True)
    candidates: dict[str, LLM] = Field(exclude=True, description="name -> LlamaIndex LLM")
    alpha: float | None = Field(
        default=None, ge=0.0, le=1.0, description="0 = cheapest, 1 = most accurate; None = router policy"
    )
    max_cost: float | None = Field(default=None, gt=0.0, description="USD cap on a call's predicted cost")
    min_accuracy: float | None = Field(default=None, ge=0.0, le=1.0)
    allowed: frozenset[str] | None = Field(default=None, description="only these candidates (None = all)")
    budget: BudgetGovernor | None = Field(default=None, exclude=True)
    record: bool = Field(default=True, description="store every call's outcome in the router's store")
    _dispatcher: Dispatcher = PrivateAttr()

    def __init__(self, router: Router, candidates: Sequence[Candidate] | Mapping[str, LLM], **kwargs: Any) -> None:
        super().__init__(router=router, candidates=register_pool(router, candidates), **kwargs)
        unknown = sorted(set(self.allowed or ()) - set(self.candidates))
        if unknown:
            raise UnknownModelError(f"allowed names {unknown} are not candidates: {sorted(self.candidates)}")
        self._dispatcher = Dispatcher(
            name=f"{__name__}.{uuid.uuid4().hex[:8]}",
            parent_name=_module_dispatcher.name,
            manager=_module_dispatcher.manager,
            event_handlers=[OutcomeRecorder(router=router)] if self.record else [],
        )

    @classmethod
    def class_name(cls) -> str:
        return "ScopeLLM"

    @property
    def dispatcher(self) -> Dispatcher:
        """Where this LLM's ScopeCallEndEvents go first (then to LlamaIndex's root dispatcher)."""
        return self._dispatcher

    # -- the pool ------------------------------------------------------------------------------
    def _pool(self, allowed: Sequence[str] | None = None) -> list[str]:
        names = [n for n in self.candidates if self.allowed is None or n in self.allowed]
        if allowed is not None:
            unknown = sorted(set(allowed) - set(self.candidates))
            if unknown:
                raise UnknownModelError(f"allowed names {unknown} are not candidates: {sorted(self.candidates)}")
            names = [n for n in names if n in set(allowed)]
        return names

    @property
    def metadata(self) -> LLMMetadata:
        """The pool's truth: the widest context window, function calling if any allowed candidate has it."""
        pool, specs = self._pool(), self.router.models()
        widest = max(pool, key=lambda n: specs[n].context_window)
        return LLMMetadata(
            context_window=specs[widest].context_window,
            num_output=self.candidates[widest].metadata.num_output,
            is_chat_model=any(self.candidates[n].metadata.is_chat_model for n in pool),
            is_function_calling_model=any(supports_tools(self.candidates[n]) for n in pool),
            model_name="scope-router",
        )

    # -- routing -------------------------------------------------------------------------------
    def _plan(
        self, kwargs: dict[str, Any], messages: list[ChatMessage] | None, prompt: str | None, tools: bool
    ) -> tuple[str | list[Turn], dict[str, Any]]:
        """The query (prompt or turns) and overrides: instance defaults, then the call's own (popped from kwargs)."""
        given = {k: kwargs.pop(k) for k in ROUTING_KWARGS if k in kwargs}
        overrides = {"alpha": self.alpha, "max_cost": self.max_cost, "min_accuracy": self.min_accuracy}
        overrides["budget"] = self.budget
        overrides.update({k: v for k, v in given.items() if v is not None})
        overrides["allowed"] = self._pool(overrides.get("allowed"))
        if tools:  # the core excludes candidates without tools or whose context window the prompt overflows
            overrides["required"] = frozenset(overrides.get("required") or ()) | {Capability.TOOLS}
        query = prompt if messages is None else to_turns(messages)
        return query, overrides

    def _route(
        self, kwargs: dict[str, Any], messages: list[ChatMessage] | None = None, prompt: str | None = None, tools=False
    ) -> _Call:
        query, overrides = self._plan(kwargs, messages, prompt, tools)
        decision = self.router.route(query, **overrides)  # the core sees the whole conversation
        return _Call(decision, self.router.text_of(query), messages, prompt, overrides.get("budget"))

    async def _aroute(
        self, kwargs: dict[str, Any], messages: list[ChatMessage] | None = None, prompt: str | None = None, tools=False
    ) -> _Call:
        query, overrides = self._plan(kwargs, messages, prompt, tools)
        decision = await self.router.aroute(query, **overrides)
        return _Call(decision, self.router.text_of(query), messages, prompt, overrides.get("budget"))

    # -- outcomes ------------------------------------------------------------------------------
    def _ended(
        self, call: _Call, model: str, attempt: int, start: float, response: R | None, error: BaseException | None
    ) -> ScopeCallEndEvent:
        """Tag the response and describe the attempt; account its cost against the budget."""
        latency = time.perf_counter() - start
        run_id = call.run_id_of(attempt)
        usage = None
        if response is not None:
            tag(response, model, run_id)
            usage = reported_usage(response)
        if usage is None and error is None:
            text = "\n".join(m.content or "" for m in call.messages) if call.messages is not None else call.prompt
            out = "" if response is None else (response.text if isinstance(response, CompletionResponse) else None)
            out = out if out is not None else response.message.content or ""  # type: ignore[union-attr]
            usage = (self.router.count_tokens(text or ""), self.router.count_tokens(out))
        cost = None
        if usage is not None:
            spec = self.router.models().get(model)
            cost = spec.cost(*usage) if spec is not None else None
        event = ScopeCallEndEvent(
            run_id=run_id,
            model=model,
            routing_text=call.text,
            decision=call.decision,
            attempt=attempt,
            input_tokens=usage[0] if usage else None,
            output_tokens=usage[1] if usage else None,
            cost_usd=cost,
            latency_s=latency,
            error=None if error is None else _error_text(error),
        )
        note_call(event)
        if call.budget is not None and cost is not None and error is None:
            call.budget.observe(cost, reserved_usd=call.decision.reserved_usd)
        return event

    def _end(self, *args: Any) -> None:
        self._dispatcher.event(self._ended(*args))

    async def _aend(self, *args: Any) -> None:
        await self._dispatcher.aevent(self._ended(*args))

    # -- running a call along the ranking --------------------------------------------------------
    def _kwargs_for(self, call: _Call, attempt: int, model: str, given: dict[str, Any]) -> dict[str, Any]:
        """The chosen model gets the call as prepared; a fallback re-prepares function calling for itself."""
        if attempt == 0 or call.tool_args is None:
            return given
        return self.candidates[model]._prepare_chat_with_tools_compat(**call.tool_args)  # type: ignore[attr-defined]

    def _run(self, call: _Call, given: dict[str, Any], invoke: Invoke) -> Any:
        error: Exception | None = None
        for attempt, model in enumerate(call.decision.ranking):
            start = time.perf_counter()
            try:
                response = invoke(self.candidates[model], self._kwargs_for(call, attempt, model, given))
            except Exception as exc:
                self._end(call, model, attempt, start, None, exc)
                error = exc
                continue
            self._end(call, model, attempt, start, response, None)
            return response
        raise error  # type: ignore[misc]

    async def _arun(self, call: _Call, given: dict[str, Any], invoke: Callable[..., Awaitable[Any]]) -> Any:
        error: Exception | None = None
        for attempt, model in enumerate(call.decision.ranking):
            start = time.perf_counter()
            try:
                response = await invoke(self.candidates[model], self._kwargs_for(call, attempt, model, given))
            except Exception as exc:
                await self._aend(call, model, attempt, start, None, exc)
                error = exc
                continue
            await self._aend(call, model, attempt, start, response, None)
            return response
        raise error  # type: ignore[misc]

    def _stream(self, call: _Call, given: dict[str, Any], invoke: Invoke) -> Iterator[Any]:
        """Falls back while no chunk has been yielded; every chunk is tagged with its model."""
        error: Exception | None = None
        for attempt, model in enumerate(call.decision.ranking):
            start = time.perf_counter()
            try:
                stream = iter(invoke(self.candidates[model], self._kwargs_for(call, attempt, model, given)))
                chunk = next(stream, None)
            except Exception as exc:
                self._end(call, model, attempt, start, None, exc)
                error = exc
                continue
            break
        else:
            raise error  # type: ignore[misc]
        last, failure = None, None
        try:
            while chunk is not None:
                tag(chunk, model, call.run_id_of(attempt))
                last = chunk
                yield chunk
                chunk = next(stream, None)
        except Exception as exc:
            failure = exc
            raise
        finally:
            self._end(call, model, attempt, start, last, failure)

    async def _astream(
        self, call: _Call, given: dict[str, Any], invoke: Callable[..., Awaitable[AsyncIterator[Any]]]
    ) -> AsyncIterator[Any]:
        error: Exception | None = None
        for attempt, model in enumerate(call.decision.ranking):
            start = time.perf_counter()
            try:
                stream = await invoke(self.candidates[model], self._kwargs_for(call, attempt, model, given))
                chunk = await anext(stream, None)
            except Exception as exc:
                await self._aend(call, model, attempt, start, None, exc)
                error = exc
                continue
            break
        else:
            raise error  # type: ignore[misc]
        last, failure = None, None
        try:
            while chunk is not None:
                tag(chunk, model, call.run_id_of(attempt))
                last = chunk
                yield chunk
                chunk = await anext(stream, None)
        except Exception as exc:
            failure = exc
            raise
        finally:
            await self._aend(call, model, attempt, start, last, failure)

    # -- chat and complete -----------------------------------------------------------------------
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        call = kwargs.pop(_CALL, None) or self._route(kwargs, messages=list(messages))
        return self._run(call, {"messages": untagged(messages), **kwargs}, lambda llm, kw: llm.chat(**kw))

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        call = kwargs.pop(_CALL, None) or await self._aroute(kwargs, messages=list(messages))
        return await self._arun(call, {"messages": untagged(messages), **kwargs}, lambda llm, kw: llm.achat(**kw))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        call = kwargs.pop(_CALL, None) or self._route(kwargs, messages=list(messages))
        return self._stream(call, {"messages": untagged(messages), **kwargs}, lambda llm, kw: llm.stream_chat(**kw))

    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        call = kwargs.pop(_CALL, None) or await self._aroute(kwargs, messages=list(messages))
        given = {"messages": untagged(messages), **kwargs}
        return self._astream(call, given, lambda llm, kw: llm.astream_chat(**kw))

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        call = self._route(kwargs, prompt=prompt)
        given = {"prompt": prompt, "formatted": formatted, **kwargs}
        return self._run(call, given, lambda llm, kw: llm.complete(**kw))

    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        call = await self._aroute(kwargs, prompt=prompt)
        given = {"prompt": prompt, "formatted": formatted, **kwargs}
        return await self._arun(call, given, lambda llm, kw: llm.acomplete(**kw))

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        call = self._route(kwargs, prompt=prompt)
        given = {"prompt": prompt, "formatted": formatted, **kwargs}
        return self._stream(call, given, lambda llm, kw: llm.stream_complete(**kw))

    async def astream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseAsyncGen:
        call = await self._aroute(kwargs, prompt=prompt)
        given = {"prompt": prompt, "formatted": formatted, **kwargs}
        return self._astream(call, given, lambda llm, kw: llm.astream_complete(**kw))

    # -- function calling ------------------------------------------------------------------------
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Route first (unless the async path already did), then let the chosen model prepare the call."""
        call = kwargs.pop(_CALL, None) or self._route(kwargs, _conversation(chat_history, user_msg), tools=True)
        if isinstance(user_msg, ChatMessage):
            user_msg = untagged([user_msg])[0]
        call.tool_args = {
            "tools": tools,
            "user_msg": user_msg,
            "chat_history": untagged(chat_history or []),
            "verbose": verbose,
            "allow_parallel_tool_calls": allow_parallel_tool_calls,
            "tool_required": tool_required,
            **kwargs,
        }
        chosen = self.candidates[call.decision.chosen]
        return {**chosen._prepare_chat_with_tools_compat(**call.tool_args), _CALL: call}  # type: ignore[attr-defined]

    async def achat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        kwargs[_CALL] = await self._aroute(kwargs, _conversation(chat_history, user_msg), tools=True)
        return await super().achat_with_tools(
            tools, user_msg, chat_history, verbose, allow_parallel_tool_calls, tool_required, **kwargs
        )

    async def astream_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> ChatResponseAsyncGen:
        kwargs[_CALL] = await self._aroute(kwargs, _conversation(chat_history, user_msg), tools=True)
        return await super().astream_chat_with_tools(
            tools, user_msg, chat_history, verbose, allow_parallel_tool_calls, tool_required, **kwargs
        )

    def _validate_chat_with_tools_response(
        self, response: ChatResponse, tools: Sequence[BaseTool], allow_parallel_tool_calls: bool = False, **kwargs: Any
    ) -> ChatResponse:
        kwargs.pop(_CALL, None)
        model = producer(response)
        if model not in self.candidates:
            return response
        return self.candidates[model]._validate_chat_with_tools_response(  # type: ignore[attr-defined]
            response, tools, allow_parallel_tool_calls=allow_parallel_tool_calls, **kwargs
        )

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """Parsed by the candidate that produced the response (named by its tag)."""
        model = producer(response)
        if model in self.candidates:
            return self.candidates[model].get_tool_calls_from_response(  # type: ignore[attr-defined]
                response, error_on_no_tool_call=error_on_no_tool_call, **kwargs
            )
        if error_on_no_tool_call:
            raise ValueError("this response was not produced by a ScopeLLM candidate, so no tool calls can be read")
        return []
