"""ScopeChatModel: a LangChain chat model that routes every call to one candidate chat model."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, BaseCallbackManager, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from scope_core import BudgetGovernor, ModelSpec
from scope_core.routing.adapter_fields import RoutedFields
from scope_core.routing.call import Attempt, RoutedCall
from scope_core.routing.candidate import candidates_router
from scope_core.routing.policy import RouteOptions
from scope_langchain.capabilities import shown_capabilities
from scope_langchain.delegate import Delegate, Request, delegate_for, passed_on, standard_params_applied
from scope_langchain.messages import needs, to_turns
from scope_langchain.run_context import RunContext, caller_run
from scope_langchain.structured import METHODS, Method, json_parser, json_request, tool_parser, with_parser
from scope_langchain.usage import counted, output_text, reported

STRUCTURED_KEY = "structured_output"
# generation_info key whose {"model", "provider"} LangChain's tracers promote to the run's ls_model_name/ls_provider
# (the contract of a gateway resolving the model per request, langchain_core.utils._gateway)
RESOLVED_MODEL_KEY = "lc_gateway_metadata"
_FORWARDED_PARAMS = ("temperature", "max_tokens", "timeout", "max_retries")

Evaluator = Callable[[Sequence[BaseMessage], AIMessage], float | None]
RunManager = CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None


class ScopeChatModel(BaseChatModel, RoutedFields):
    """A chat model that routes each call, pre-hoc, to one of several candidate chat models.

    Every call (agent steps included) is a separate routing decision by a ``scope_core.Router``
    (``router.start``): the chosen candidate answers, a failing candidate is replaced by the next
    best, and every attempt is recorded in the router's store by the core.

    Routing options (``scope_core.RouteOptions``: ``alpha`` or ``cost_share``, ``max_cost``, ``min_accuracy``,
    ``allowed``, ``model``, ``budget``, ``explore``, ``max_latency_s``, labels such as ``session_id``...; every key
    in the docs' Routing options page) are set for every call with ``routing`` (or as keyword arguments of the
    constructor) and per call as call kwargs (or ``bind``); a misspelt one raises
    ``InvalidInputError``. ``response_metadata["scope"]`` describes the call.

    Example: ``ScopeChatModel(candidates=[ChatOpenAI(model="gpt-4o-mini"), ...], alpha=0.7).invoke("2 + 2?")``
    (a bare chat model's spec is looked up, ``Candidate.of``; pass ``Candidate(model=..., spec=...)`` to type it).
    """

    candidate_type = BaseChatModel
    candidate_kind = "LangChain chat models"
    shown_capabilities = staticmethod(shown_capabilities)

    model_name: str = "scope-router"
    text_builder: Callable[[Sequence[BaseMessage]], str] | None = Field(
        default=None, description="custom routing text of a conversation (overrides routing_mode)"
    )
    evaluator: Evaluator | None = Field(default=None, description="scores each reply in [0, 1], in the background")
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    max_retries: int | None = None
    stop: list[str] | None = None
    streaming: bool = False

    model_config = ConfigDict(arbitrary_types_allowed=True)

    _models: dict[str, BaseChatModel] = PrivateAttr(default_factory=dict)
    _specs: dict[str, ModelSpec] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _connect(self) -> ScopeChatModel:
        self.router = candidates_router(self.router, self.location, self.store_prompts, self.candidates)
        if isinstance(self.callbacks, BaseCallbackManager):
            self.callbacks.add_handler(RunContext(), inherit=False)
        elif not any(isinstance(h, RunContext) for h in self.callbacks or ()):
            self.callbacks = [*(self.callbacks or []), RunContext()]
        params = {k: getattr(self, k) for k in _FORWARDED_PARAMS}
        self._models = {c.name: standard_params_applied(c.model, params) for c in self.candidates}
        self._specs = {c.name: c.spec for c in self.candidates}
        return self

    # -- identity and tracing -------------------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return "scope-router"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "candidates": sorted(self._specs), **self.routing.constraints()}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """The run starts before routing: it names a forced ``model``, else the router; the answer then names the model
        that answered (``_resolved``)."""
        params = super()._get_ls_params(stop=stop or self.stop, **kwargs)
        name = kwargs["model"] if isinstance(kwargs.get("model"), str) else self.model_name
        spec = self._specs.get(name)
        params["ls_provider"] = (spec.provider if spec else None) or "scope"
        params["ls_model_name"] = name
        return params

    def _get_invocation_params(self, stop: list[str] | None = None, **kwargs: Any) -> dict[str, Any]:
        params = super()._get_invocation_params(stop=stop, **kwargs)
        params["routing"] = self.routing.constraints()
        if isinstance(params.get("budget"), BudgetGovernor):
            params["budget"] = {"spent": params["budget"].spent, "alpha": params["budget"].alpha}
        return params

    # -- tools and structured output ------------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | Any],
        *,
        tool_choice: str | dict | bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; they are bound to whichever tool-capable candidate each call is routed to."""
        formatted = [convert_to_openai_tool(t, strict=strict) for t in tools]
        choice = {"tool_choice": "any" if tool_choice is True else tool_choice} if tool_choice is not None else {}
        return self.bind(tools=formatted, **choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: Method = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict | BaseModel]:
        """Structured output by tool calling (default) or a candidate's native ``json_schema``/``json_mode``."""
        if kwargs:
            raise ValueError(f"Received unsupported arguments {kwargs}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        trace = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
        if method == "function_calling":
            name = convert_to_openai_tool(schema)["function"]["name"]
            llm = self.bind_tools([schema], tool_choice=name, strict=strict, ls_structured_output_format=trace)
            return with_parser(llm, tool_parser(schema), include_raw)
        llm = self.bind(**{STRUCTURED_KEY: json_request(schema, method, strict)}, ls_structured_output_format=trace)
        return with_parser(llm, json_parser(schema), include_raw)

    # -- one routed call: start it in the core, run its attempts, report how each ended ----------
    def _plan(
        self, messages: list[BaseMessage], run_manager: RunManager, kwargs: dict[str, Any]
    ) -> tuple[str | list, RouteOptions, dict[str, Any], Callable[[Attempt], Delegate]]:
        """The query, the call's options, ``Router.start``'s other arguments, and each attempt's candidate bound to
        the call's request (the adapter's work: ``RoutedCall.run`` raises its errors as they are)."""
        run = caller_run(run_manager)
        options = RouteOptions.take(kwargs, self.routing, run.labels())
        request = Request(
            kwargs.pop("tools", None), kwargs.pop("tool_choice", None), kwargs.pop(STRUCTURED_KEY, None), kwargs
        )
        options = options.model_copy(
            update={"required": frozenset(needs(messages, options.required, request.tools, request.structured))}
        )
        call = {"pool": self._specs, "run_id": run.run_id or str(uuid.uuid4()), "fallback_on": self.fallback_on}

        def delegate(attempt: Attempt) -> Delegate:
            return delegate_for(self._models[attempt.model], request)

        query = to_turns(messages) if self.text_builder is None else self.text_builder(messages)
        return query, options, call, delegate

    def _answered(
        self, call: RoutedCall, attempt: Attempt, reply: AIMessage, messages: list[BaseMessage]
    ) -> tuple[dict[str, Any], UsageMetadata | None]:
        """Tell the call it succeeded: the reply's metadata (model name, the call's ``scope``), and its
        usage as the router counted it when the candidate reported none."""
        evaluator = self.evaluator
        score = (lambda: evaluator(messages, reply)) if evaluator is not None else None
        usage = reported(reply)
        scope = call.succeeded(attempt, usage, reply_text=output_text(reply), score=score)
        return {"model_name": attempt.model, "scope": scope}, counted(scope) if usage.output_tokens is None else None

    def _reply(self, call: RoutedCall, attempt: Attempt, reply: AIMessage, messages: list[BaseMessage]) -> ChatResult:
        meta, usage = self._answered(call, attempt, reply, messages)
        update = {
            "usage_metadata": usage or reply.usage_metadata,
            "response_metadata": {**reply.response_metadata, **meta},
        }
        message = reply.model_copy(update=update)
        generation = ChatGeneration(message=message, generation_info=self._resolved(call, attempt))
        return ChatResult(generations=[generation], llm_output={"model_name": attempt.model})

    def _closing(
        self, call: RoutedCall, full: AIMessageChunk | None, messages: list[BaseMessage]
    ) -> ChatGenerationChunk:
        """A stream's last chunk: model name, the call's ``scope``, and usage if the candidate sent none."""
        assert call.current is not None  # the stream ended whole
        meta, usage = self._answered(call, call.current, full or AIMessageChunk(content=""), messages)
        last = AIMessageChunk(content="", response_metadata=meta, usage_metadata=usage, chunk_position="last")
        return ChatGenerationChunk(message=last, generation_info=self._resolved(call, call.current))

    def _resolved(self, call: RoutedCall, attempt: Attempt) -> dict[str, Any]:
        """The model that answered, told to tracers the way a gateway tells its resolved model: LangChain's
        tracers (LangSmith) then name and price the run as that model, and keep the decision in its metadata."""
        spec = self._specs[attempt.model]
        decision = {"run_id": call.run_id, "chosen": call.decision.chosen, "alpha": call.decision.alpha}
        resolved = {"model": attempt.model, "provider": spec.provider or "scope-router", "scope": decision}
        return {RESOLVED_MODEL_KEY: {**resolved, "scope_reason": call.decision.reason}}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        query, options, keys, delegate = self._plan(messages, run_manager, kwargs)
        call = self.router.start(query, options, **keys)
        attempt, reply = call.run(lambda d: d.generate(messages, stop or self.stop), delegate)
        return self._reply(call, attempt, reply, messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        query, options, keys, delegate = self._plan(messages, run_manager, kwargs)
        call = await self.router.astart(query, options, **keys)
        attempt, reply = await call.arun(lambda d: d.agenerate(messages, stop or self.stop), delegate)
        return self._reply(call, attempt, reply, messages)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        query, options, keys, delegate = self._plan(messages, run_manager, kwargs)
        call = self.router.start(query, options, **keys)
        full: AIMessageChunk | None = None
        for chunk in call.stream(lambda d: d.stream(messages, stop or self.stop), delegate):
            chunk = passed_on(chunk)
            full = chunk if full is None else full + chunk
            yield ChatGenerationChunk(message=chunk)
        yield self._closing(call, full, messages)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        query, options, keys, delegate = self._plan(messages, run_manager, kwargs)
        call = await self.router.astart(query, options, **keys)
        full: AIMessageChunk | None = None
        async for chunk in call.astream(lambda d: d.astream(messages, stop or self.stop), delegate):
            chunk = passed_on(chunk)
            full = chunk if full is None else full + chunk
            yield ChatGenerationChunk(message=chunk)
        yield self._closing(call, full, messages)

    # -- feedback --------------------------------------------------------------------------------
    def feedback(self, run_id: str | uuid.UUID, score: float) -> None:
        """Attach a quality score to a routed call once its record is stored; an unknown id raises
        ``UnknownRunError``."""
        self.router.feedback(str(run_id), score)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every outcome and score of this router's calls is stored (``Router.flush``)."""
        self.router.flush(timeout)

    async def aflush(self) -> None:
        await asyncio.to_thread(self.flush)
