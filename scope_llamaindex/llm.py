"""ScopeLLM: a LlamaIndex FunctionCallingLLM that routes every call, pre-hoc, to one of its candidates."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
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
from llama_index.core.llms import LLM
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from pydantic import Field, model_validator

from scope_core import Capability, UnknownModelError
from scope_core.routing.adapter_fields import RoutedFields
from scope_core.routing.call import Attempt, RoutedCall
from scope_core.routing.candidate import candidates_router
from scope_core.routing.policy import RouteOptions
from scope_llamaindex.caller import caller_labels
from scope_llamaindex.candidates import shown_capabilities, supports_tools
from scope_llamaindex.events import call_ended
from scope_llamaindex.messages import SCOPE_KEY, has_images, producer, tag, to_turns, untagged
from scope_llamaindex.usage import output_text, reported_usage

if TYPE_CHECKING:
    from llama_index.core.tools import BaseTool

_CALL, _TOOL_ARGS = "scope_call", "scope_tool_args"  # carry a routed call from _prepare_chat_with_tools to chat
R = TypeVar("R", ChatResponse, CompletionResponse)


def _conversation(chat_history: Sequence[ChatMessage] | None, user_msg: str | ChatMessage | None) -> list[ChatMessage]:
    messages = list(chat_history or [])
    if isinstance(user_msg, str):
        messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
    elif user_msg is not None:
        messages.append(user_msg)
    return messages


def _carried(kwargs: dict[str, Any]) -> tuple[RoutedCall | None, dict[str, Any] | None]:
    """The call routed by ``_prepare_chat_with_tools`` and its tool arguments, if it routed this one."""
    return kwargs.pop(_CALL, None), kwargs.pop(_TOOL_ARGS, None)


class ScopeLLM(FunctionCallingLLM, RoutedFields):
    """Routes each chat/complete call (streaming, async and function calling included) to one candidate LLM.

    ``scope_core`` routes the call (``router.start``), records every attempt and falls back along the
    ranking on an error of ``fallback_on``; this class only translates. Routing options
    (``scope_core.RouteOptions``) are set for every call with ``routing`` (or as constructor keyword arguments)
    and per call as keyword arguments; a misspelt one raises ``InvalidInputError``. An answer's
    ``additional_kwargs["scope"]`` (a stream's last chunk) describes the call;
    ``additional_kwargs["scope_run_id"]`` is the id for ``feedback(run_id, score)``. Each attempt also emits a
    ``ScopeCallEndEvent`` (see ``capture_calls``).

    Example: ``ScopeLLM(candidates=[llm_candidate("fast", fast_llm, 0.1, 0.4), ...], router=router, alpha=0.7)``.
    """

    candidate_type = LLM
    candidate_kind = "LlamaIndex LLMs"
    shown_capabilities = staticmethod(shown_capabilities)

    record: bool = Field(default=True, description="store every call's outcome in the router's store")

    @model_validator(mode="after")
    def _connect(self) -> ScopeLLM:
        self.router = candidates_router(self.router, self.location, self.store_prompts, self.candidates)
        if unknown := sorted(set(self.routing.allowed or ()) - set(self._llms)):
            raise UnknownModelError(f"allowed names {unknown} are not candidates: {sorted(self._llms)}")
        return self

    @classmethod
    def class_name(cls) -> str:
        return "ScopeLLM"

    @property
    def _llms(self) -> dict[str, LLM]:
        return {c.name: c.model for c in self.candidates}

    def _pool(self) -> list[str]:
        allowed = self.routing.allowed
        return [c.name for c in self.candidates if allowed is None or c.name in allowed]

    @property
    def metadata(self) -> LLMMetadata:
        """The pool's truth: the widest context window, function calling if any allowed candidate has it."""
        pool, specs, llms = self._pool(), {c.name: c.spec for c in self.candidates}, self._llms
        widest = max(pool, key=lambda n: specs[n].context_window)
        return LLMMetadata(
            context_window=specs[widest].context_window,
            num_output=llms[widest].metadata.num_output,
            is_chat_model=any(llms[n].metadata.is_chat_model for n in pool),
            is_function_calling_model=any(supports_tools(llms[n]) for n in pool),
            model_name="scope-router",
        )

    # -- one routed call: start it in the core, run its attempts, report how each ended ----------
    def _plan(self, kwargs: dict[str, Any], messages: list[ChatMessage] | None, prompt: str | None, tools: bool):
        """The query (prompt or turns), the call's options (the routing keys popped from kwargs) and
        ``Router.start``'s other arguments."""
        options = RouteOptions.take(kwargs, self.routing, caller_labels())
        required = set(options.required or ())
        required |= {Capability.TOOLS} if tools else set()
        required |= {Capability.VISION} if messages is not None and has_images(messages) else set()
        options = options.model_copy(update={"required": frozenset(required)})
        query = prompt if messages is None else to_turns(messages)
        keys = {"pool": self._pool(), "fallback_on": self.fallback_on, "record": self.record, "on_end": call_ended}
        return query, options, keys

    def _start(self, kwargs: dict[str, Any], messages=None, prompt=None, tools=False) -> RoutedCall:
        query, options, keys = self._plan(kwargs, messages, prompt, tools)
        return self.router.start(query, options, **keys)

    async def _astart(self, kwargs: dict[str, Any], messages=None, prompt=None, tools=False) -> RoutedCall:
        query, options, keys = self._plan(kwargs, messages, prompt, tools)
        return await self.router.astart(query, options, **keys)

    @staticmethod
    def _answered(call: RoutedCall, attempt: Attempt, response: R) -> R:
        """Tell the call it succeeded; the response (a stream's last chunk) carries the call's metadata."""
        scope = call.succeeded(attempt, reported_usage(response), reply_text=output_text(response))
        tag(response, attempt.model, call.run_id, **{SCOPE_KEY: scope})
        return response

    def _ready(self, attempt: Attempt, given: dict[str, Any], tool_args: dict[str, Any] | None) -> tuple[LLM, dict]:
        """The attempt's candidate and its call's arguments: the chosen one's as prepared, a fallback's with function
        calling re-prepared for itself (the adapter's work: ``RoutedCall.run`` raises its errors as they are)."""
        llm = self._llms[attempt.model]
        if attempt.index > 0 and tool_args is not None:
            given = llm._prepare_chat_with_tools_compat(**tool_args)  # type: ignore[attr-defined]
        return llm, given

    def _steps(self, method: str, given: dict[str, Any], tools: dict | None) -> tuple[Callable, Callable]:
        """``RoutedCall.run``'s invoke (the candidate's own ``method``) and prepare (``_ready``)."""
        return (lambda ready: getattr(ready[0], method)(**ready[1])), (lambda a: self._ready(a, given, tools))

    def _run(self, call: RoutedCall, method: str, given: dict[str, Any], tools: dict | None = None) -> Any:
        attempt, response = call.run(*self._steps(method, given, tools))
        return self._answered(call, attempt, response)

    async def _arun(self, call: RoutedCall, method: str, given: dict[str, Any], tools: dict | None = None) -> Any:
        attempt, response = await call.arun(*self._steps(method, given, tools))
        return self._answered(call, attempt, response)

    def _stream(self, call: RoutedCall, method: str, given: dict[str, Any], tools: dict | None = None) -> Iterator:
        """Every chunk names its model; the last gains the call's metadata."""
        last = None
        for last in call.stream(*self._steps(method, given, tools)):
            tag(last, call.current.model, call.run_id)
            yield last
        self._answered(call, call.current, last)

    async def _astream(
        self, call: RoutedCall, method: str, given: dict[str, Any], tools: dict | None = None
    ) -> AsyncIterator:
        last = None
        async for last in call.astream(*self._steps(method, given, tools)):
            tag(last, call.current.model, call.run_id)
            yield last
        self._answered(call, call.current, last)

    # -- chat and complete -----------------------------------------------------------------------
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        call, tools = _carried(kwargs)
        call = call or self._start(kwargs, list(messages))
        return self._run(call, "chat", {"messages": untagged(messages), **kwargs}, tools)

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        call, tools = _carried(kwargs)
        call = call or await self._astart(kwargs, list(messages))
        return await self._arun(call, "achat", {"messages": untagged(messages), **kwargs}, tools)

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        call, tools = _carried(kwargs)
        call = call or self._start(kwargs, list(messages))
        return self._stream(call, "stream_chat", {"messages": untagged(messages), **kwargs}, tools)

    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        call, tools = _carried(kwargs)
        call = call or await self._astart(kwargs, list(messages))
        return self._astream(call, "astream_chat", {"messages": untagged(messages), **kwargs}, tools)

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        call = self._start(kwargs, prompt=prompt)
        return self._run(call, "complete", {"prompt": prompt, "formatted": formatted, **kwargs})

    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        call = await self._astart(kwargs, prompt=prompt)
        return await self._arun(call, "acomplete", {"prompt": prompt, "formatted": formatted, **kwargs})

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        call = self._start(kwargs, prompt=prompt)
        return self._stream(call, "stream_complete", {"prompt": prompt, "formatted": formatted, **kwargs})

    async def astream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseAsyncGen:
        call = await self._astart(kwargs, prompt=prompt)
        return self._astream(call, "astream_complete", {"prompt": prompt, "formatted": formatted, **kwargs})

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
        call = kwargs.pop(_CALL, None) or self._start(kwargs, _conversation(chat_history, user_msg), tools=True)
        if isinstance(user_msg, ChatMessage):
            user_msg = untagged([user_msg])[0]
        tool_args = {
            "tools": tools,
            "user_msg": user_msg,
            "chat_history": untagged(chat_history or []),
            "verbose": verbose,
            "allow_parallel_tool_calls": allow_parallel_tool_calls,
            "tool_required": tool_required,
            **kwargs,
        }
        chosen = self._llms[call.decision.chosen]
        prepared = chosen._prepare_chat_with_tools_compat(**tool_args)  # type: ignore[attr-defined]
        return {**prepared, _CALL: call, _TOOL_ARGS: tool_args}

    async def achat_with_tools(self, tools: Sequence[BaseTool], user_msg=None, chat_history=None, *args, **kwargs):
        kwargs[_CALL] = await self._astart(kwargs, _conversation(chat_history, user_msg), tools=True)
        return await super().achat_with_tools(tools, user_msg, chat_history, *args, **kwargs)

    async def astream_chat_with_tools(
        self, tools: Sequence[BaseTool], user_msg=None, chat_history=None, *args, **kwargs
    ):
        kwargs[_CALL] = await self._astart(kwargs, _conversation(chat_history, user_msg), tools=True)
        return await super().astream_chat_with_tools(tools, user_msg, chat_history, *args, **kwargs)

    def _validate_chat_with_tools_response(
        self, response: ChatResponse, tools: Sequence[BaseTool], allow_parallel_tool_calls: bool = False, **kwargs: Any
    ) -> ChatResponse:
        kwargs.pop(_CALL, None)
        model = producer(response)
        if model not in self._llms:
            return response
        return self._llms[model]._validate_chat_with_tools_response(  # type: ignore[attr-defined]
            response, tools, allow_parallel_tool_calls=allow_parallel_tool_calls, **kwargs
        )

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """Parsed by the candidate that produced the response (named by its tag)."""
        model = producer(response)
        if model in self._llms:
            return self._llms[model].get_tool_calls_from_response(  # type: ignore[attr-defined]
                response, error_on_no_tool_call=error_on_no_tool_call, **kwargs
            )
        if error_on_no_tool_call:
            raise ValueError("this response was not produced by a ScopeLLM candidate, so no tool calls can be read")
        return []

    # -- feedback --------------------------------------------------------------------------------
    def feedback(self, run_id: str, score: float) -> None:
        """Attach a quality score to a routed call once its record is stored; an unknown id raises
        ``UnknownRunError``."""
        self.router.feedback(run_id, score)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every outcome and score of this router's calls is stored (``Router.flush``)."""
        self.router.flush(timeout)
