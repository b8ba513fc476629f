"""ScopeChatModel: a LangChain chat model that routes every call to one candidate chat model."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.utils import from_env
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from scope_core import BudgetGovernor, Capability, Decision, ModelSpec, Router, Turn, UnknownModelError
from scope_core.errors import AllCandidatesFailedError
from scope_core.routing_text import RoutingMode

from .delegate import Delegate, Request, delegate_for
from .messages import has_images, to_turns
from .structured import METHODS, Method, json_parser, json_request, tool_parser, with_parser
from .usage import usage_of

ROUTING_KEYS = ("alpha", "max_cost", "min_accuracy", "allowed", "required", "budget", "model", "routing_mode")
DECISION_KEY = "scope_decision"
STRUCTURED_KEY = "structured_output"
_FORWARDED_PARAMS = ("temperature", "max_tokens", "timeout", "max_retries")

Evaluator = Callable[[Sequence[BaseMessage], AIMessage], float | None]


class Candidate(BaseModel):
    """A chat model the router may choose, with its name, prices and capabilities (``spec``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    model: BaseChatModel
    spec: ModelSpec

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Routed:
    """A call's routing decision and the text it was routed on (travels in the call kwargs)."""

    decision: Decision
    text: str
    run_id: str


def _standard_params_applied(model: BaseChatModel, params: Mapping[str, Any]) -> BaseChatModel:
    """A copy of a candidate with the router's standard params set, where the candidate has such a field."""
    fields = type(model).model_fields
    by_name = {alias: name for name, f in fields.items() for alias in (name, f.alias) if alias}
    update = {by_name[k]: v for k, v in params.items() if v is not None and k in by_name}
    return model.model_copy(update=update) if update else model


def _configurable(config: RunnableConfig | None) -> dict[str, Any]:
    configurable = (config or {}).get("configurable") or {}
    return {k: configurable[k] for k in ROUTING_KEYS if k in configurable}


class ScopeChatModel(BaseChatModel):
    """A chat model that routes each call, pre-hoc, to one of several candidate chat models.

    Every call (agent steps included) is a separate routing decision by a ``scope_core.Router``;
    the chosen candidate answers, a failing candidate is replaced by the next best, and the outcome
    (tokens, cost from the candidate's prices, latency, errors) is recorded in the router's store.

    Per-call overrides, as call kwargs or ``config={"configurable": {...}}``: ``alpha``,
    ``max_cost``, ``min_accuracy``, ``allowed`` (model names), ``required`` (capabilities),
    ``budget`` (a BudgetGovernor), ``model`` (force one candidate) and ``routing_mode``.

    Example:
        ```python
        llm = ScopeChatModel(
            candidates=[Candidate(model=ChatOpenAI(model="gpt-4o-mini"), spec=ModelSpec(name="mini", ...)), ...],
            store="~/.scope/store",
            alpha=0.7,
        )
        llm.invoke("What is 2 + 2?").response_metadata["scope"]
        ```
    """

    candidates: list[Candidate] = Field(min_length=1, description="the chat models to route among")
    router: Router | None = Field(default=None, description="the router; built on `store` when omitted")
    store: str | None = Field(
        default_factory=from_env("SCOPE_STORE", default=None),
        description="store path or http://host:port used when no router is given (default $SCOPE_STORE)",
    )
    model_name: str = "scope-router"
    alpha: float | None = Field(default=None, ge=0.0, le=1.0, description="0 = cheapest, 1 = most accurate")
    max_cost: float | None = Field(default=None, gt=0.0, description="USD cap on a call's predicted cost")
    min_accuracy: float | None = Field(default=None, ge=0.0, le=1.0)
    budget: BudgetGovernor | None = Field(default=None, description="paces spend over a stream of calls")
    routing_mode: RoutingMode | None = Field(default=None, description="how the routing text is built")
    text_builder: Callable[[Sequence[BaseMessage]], str] | None = Field(
        default=None, description="custom routing text of a conversation (overrides routing_mode)"
    )
    evaluator: Evaluator | None = Field(default=None, description="scores each reply in [0, 1], in the background")
    fallback_on: tuple[type[BaseException], ...] = Field(default=(Exception,), description="errors that fall back")
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    max_retries: int | None = None
    stop: list[str] | None = None
    streaming: bool = False

    model_config = ConfigDict(arbitrary_types_allowed=True)

    _models: dict[str, BaseChatModel] = PrivateAttr(default_factory=dict)
    _specs: dict[str, ModelSpec] = PrivateAttr(default_factory=dict)

    @field_validator("candidates", mode="before")
    @classmethod
    def _coerce_candidates(cls, value: Any) -> Any:
        """Accept ``[Candidate, ...]``, ``[(chat_model, spec), ...]`` or ``{name: (chat_model, spec)}``."""
        if isinstance(value, Mapping):
            value = [_named(name, item) for name, item in value.items()]
        return [Candidate(model=c[0], spec=c[1]) if isinstance(c, tuple) else c for c in value]

    @model_validator(mode="after")
    def _connect(self) -> ScopeChatModel:
        names = [c.name for c in self.candidates]
        if len(set(names)) != len(names):
            raise ValueError(f"candidate names must be unique, got {names}")
        if self.router is None:
            self.router = Router.open(self.store)
        known = self.router.models()
        for c in self.candidates:
            if known.get(c.name) != c.spec:
                self.router.register_model(c.spec)
        params = {k: getattr(self, k) for k in _FORWARDED_PARAMS}
        self._models = {c.name: _standard_params_applied(c.model, params) for c in self.candidates}
        self._specs = {c.name: c.spec for c in self.candidates}
        return self

    # -- identity and tracing -------------------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return "scope-router"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "candidates": sorted(self._specs), "alpha": self.alpha}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """Reports the chosen candidate (known before the run starts) as provider and model."""
        params = super()._get_ls_params(stop=stop or self.stop, **kwargs)
        routed = kwargs.get(DECISION_KEY)
        if isinstance(kwargs.get("model"), str):
            name = kwargs["model"]
        elif isinstance(routed, Routed):
            name = routed.decision.chosen
        else:
            name = self.model_name
        spec = self._specs.get(name)
        params["ls_provider"] = (spec.provider if spec else None) or "scope"
        params["ls_model_name"] = name
        return params

    def _get_invocation_params(self, stop: list[str] | None = None, **kwargs: Any) -> dict[str, Any]:
        params = super()._get_invocation_params(stop=stop, **kwargs)
        if isinstance(params.get(DECISION_KEY), Routed):
            params[DECISION_KEY] = params[DECISION_KEY].decision.overview()
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

    # -- entry points: route before the run starts, so traces carry the chosen model ------------
    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs,
    ) -> AIMessage:
        config, kwargs = self._routed(input, config, kwargs)
        return super().invoke(input, config, stop=stop, **kwargs)

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs,
    ) -> AIMessage:
        config, kwargs = await self._arouted(input, config, kwargs)
        return await super().ainvoke(input, config, stop=stop, **kwargs)

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs,
    ) -> Iterator[AIMessageChunk]:
        config, kwargs = self._routed(input, config, kwargs)
        yield from super().stream(input, config, stop=stop, **kwargs)

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs,
    ) -> AsyncIterator[AIMessageChunk]:
        config, kwargs = await self._arouted(input, config, kwargs)
        async for chunk in super().astream(input, config, stop=stop, **kwargs):
            yield chunk

    def stream_events(self, input: Any, config: RunnableConfig | None = None, *, version: str = "v2", **kwargs):
        if version == "v3":
            config, kwargs = self._routed(input, config, kwargs)
        return super().stream_events(input, config, version=version, **kwargs)

    def astream_events(self, input: Any, config: RunnableConfig | None = None, *, version: str = "v2", **kwargs):
        if version == "v3":
            return self._astream_events_v3(input, config, kwargs)
        return super().astream_events(input, config, version=version, **kwargs)

    async def _astream_events_v3(self, input: Any, config: RunnableConfig | None, kwargs: dict[str, Any]):
        config, kwargs = await self._arouted(input, config, kwargs)
        return await super().astream_events(input, config, version="v3", **kwargs)

    # -- routing ---------------------------------------------------------------------------------
    def _routed(
        self, input: LanguageModelInput, config: RunnableConfig | None, kwargs: dict
    ) -> tuple[RunnableConfig | None, dict]:
        """Route a call before its run starts; the run id is fixed here so the outcome record carries it."""
        config, kwargs, messages = self._to_route(input, config, kwargs)
        if messages is not None:
            kwargs[DECISION_KEY] = self._route(messages, kwargs, str(config["run_id"]))
        return config, kwargs

    async def _arouted(
        self, input: LanguageModelInput, config: RunnableConfig | None, kwargs: dict
    ) -> tuple[RunnableConfig | None, dict]:
        config, kwargs, messages = self._to_route(input, config, kwargs)
        if messages is not None:
            kwargs[DECISION_KEY] = await self._aroute(messages, kwargs, str(config["run_id"]))
        return config, kwargs

    def _to_route(
        self, input: LanguageModelInput, config: RunnableConfig | None, kwargs: dict
    ) -> tuple[RunnableConfig | None, dict, list[BaseMessage] | None]:
        """The call's config (with a fixed run id) and kwargs, and its messages unless already routed."""
        kwargs = {**kwargs, **_configurable(config)}
        if DECISION_KEY in kwargs:
            return config, kwargs, None
        config = _with_run_id(config)
        return config, kwargs, self._convert_input(input).to_messages()

    def _route(self, messages: Sequence[BaseMessage], kwargs: Mapping[str, Any], run_id: str) -> Routed:
        query, text, overrides = self._routing_request(messages, kwargs)
        return Routed(self.router.route(query, **overrides), text, run_id)

    async def _aroute(self, messages: Sequence[BaseMessage], kwargs: Mapping[str, Any], run_id: str) -> Routed:
        query, text, overrides = self._routing_request(messages, kwargs)
        return Routed(await self.router.aroute(query, **overrides), text, run_id)

    def _routing_request(
        self, messages: Sequence[BaseMessage], kwargs: Mapping[str, Any]
    ) -> tuple[str | list[Turn], str, dict]:
        """What the core routes (the turns, or a custom ``text_builder``'s text), the routing text it
        records the call under, and the router overrides (constraints, trade-off, candidates)."""
        allowed = [kwargs["model"]] if kwargs.get("model") else kwargs.get("allowed")
        allowed = set(self._specs) if allowed is None else set(allowed)
        unknown = sorted(allowed - set(self._specs))
        if unknown:
            raise UnknownModelError(f"unknown candidate(s) {unknown}; candidates: {sorted(self._specs)}")
        required = {Capability(c) for c in kwargs.get("required") or ()}
        if kwargs.get("tools"):
            required.add(Capability.TOOLS)
        if kwargs.get(STRUCTURED_KEY):
            required.add(Capability.STRUCTURED_OUTPUT)
        if has_images(messages):
            required.add(Capability.VISION)
        overrides = {k: kwargs.get(k, getattr(self, k)) for k in ("alpha", "max_cost", "min_accuracy", "budget")}
        overrides |= {"allowed": allowed, "required": required}
        if self.text_builder is not None:
            text = self.text_builder(messages)
            return text, text, overrides
        turns, mode = to_turns(messages), kwargs.get("routing_mode") or self.routing_mode
        return turns, self.router.text_of(turns, mode), {**overrides, "routing_mode": mode}

    # -- one routed call -------------------------------------------------------------------------
    def _plan(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> tuple[Routed | None, Request, dict]:
        routed = kwargs.pop(DECISION_KEY, None)
        routing = {k: kwargs.pop(k) for k in ROUTING_KEYS if k in kwargs}
        request = Request(
            tools=kwargs.pop("tools", None),
            tool_choice=kwargs.pop("tool_choice", None),
            structured=kwargs.pop(STRUCTURED_KEY, None),
            kwargs=kwargs,
        )
        routing.update({"tools": request.tools, STRUCTURED_KEY: request.structured})
        return routed, request, routing

    def _delegates(self, routed: Routed, request: Request) -> Iterator[tuple[str, Delegate]]:
        for name in routed.decision.ranking:
            yield name, delegate_for(self._models[name], request)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        routed, request, routing = self._plan(messages, kwargs)
        routed = routed or self._route(messages, routing, _run_id(run_manager))
        call = _Call(self, routed, routing.get("budget", self.budget), messages)
        for name, delegate in self._delegates(routed, request):
            started = time.perf_counter()
            try:
                reply = delegate.generate(messages, stop or self.stop)
            except self.fallback_on as exc:
                call.failed(name, exc, started)
                continue
            return _result(call.succeeded(name, reply, started))
        raise AllCandidatesFailedError(call.errors)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        routed, request, routing = self._plan(messages, kwargs)
        routed = routed or await self._aroute(messages, routing, _run_id(run_manager))
        call = _Call(self, routed, routing.get("budget", self.budget), messages)
        for name, delegate in self._delegates(routed, request):
            started = time.perf_counter()
            try:
                reply = await delegate.agenerate(messages, stop or self.stop)
            except self.fallback_on as exc:
                call.failed(name, exc, started)
                continue
            return _result(call.succeeded(name, reply, started))
        raise AllCandidatesFailedError(call.errors)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        routed, request, routing = self._plan(messages, kwargs)
        routed = routed or self._route(messages, routing, _run_id(run_manager))
        call = _Call(self, routed, routing.get("budget", self.budget), messages)
        for name, delegate in self._delegates(routed, request):
            started, full = time.perf_counter(), None
            try:
                for chunk in delegate.stream(messages, stop or self.stop):
                    chunk = _passed_on(chunk)
                    full = chunk if full is None else full + chunk
                    yield ChatGenerationChunk(message=chunk)
            except self.fallback_on as exc:
                call.failed(name, exc, started)
                if full is not None:  # part of the answer is out already: no clean fallback
                    raise
                continue
            yield ChatGenerationChunk(message=call.closing_chunk(name, full, started))
            return
        raise AllCandidatesFailedError(call.errors)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        routed, request, routing = self._plan(messages, kwargs)
        routed = routed or await self._aroute(messages, routing, _run_id(run_manager))
        call = _Call(self, routed, routing.get("budget", self.budget), messages)
        for name, delegate in self._delegates(routed, request):
            started, full = time.perf_counter(), None
            try:
                async for chunk in delegate.astream(messages, stop or self.stop):
                    chunk = _passed_on(chunk)
                    full = chunk if full is None else full + chunk
                    yield ChatGenerationChunk(message=chunk)
            except self.fallback_on as exc:
                call.failed(name, exc, started)
                if full is not None:
                    raise
                continue
            yield ChatGenerationChunk(message=call.closing_chunk(name, full, started))
            return
        raise AllCandidatesFailedError(call.errors)

    # -- feedback --------------------------------------------------------------------------------
    def feedback(self, run_id: str | uuid.UUID, score: float) -> None:
        """Attach a quality score to a routed call (queued after the call's own record)."""
        router = self.router
        router.writer.submit(lambda: router.feedback(str(run_id), score))

    def flush(self) -> None:
        """Wait until every outcome and score of this router's calls is stored."""
        self.router.writer.flush()

    async def aflush(self) -> None:
        await asyncio.to_thread(self.flush)


def _named(name: str, item: Any) -> Any:
    """``{name: (chat_model, spec)}`` entries: the key must match the spec's name."""
    if isinstance(item, tuple):
        model, spec = item
        item = Candidate(model=model, spec=spec)
    if isinstance(item, Candidate) and item.name != name:
        raise ValueError(f"candidate key '{name}' differs from its spec name '{item.name}'")
    return item


def _run_id(run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None) -> str:
    return str(run_manager.run_id) if run_manager is not None else uuid.uuid4().hex


def _with_run_id(config: RunnableConfig | None) -> RunnableConfig:
    """A copy of the config with a run id (the caller's, or a new one)."""
    config = dict(config or {})
    config["run_id"] = config.get("run_id") or uuid.uuid4()
    return config


def _passed_on(chunk: AIMessageChunk) -> AIMessageChunk:
    """A candidate's chunk as the router streams it: its model name and end marker come from the router."""
    meta = chunk.response_metadata
    if "model_name" not in meta and chunk.chunk_position is None:
        return chunk
    kept = {k: v for k, v in meta.items() if k != "model_name"}
    return chunk.model_copy(update={"response_metadata": kept, "chunk_position": None})


def _result(message: AIMessage) -> ChatResult:
    return ChatResult(
        generations=[ChatGeneration(message=message)],
        llm_output={"model_name": message.response_metadata["model_name"]},
    )


class _Call:
    """Bookkeeping of one routed call: failures, the winner's metadata, and the outcome records."""

    def __init__(
        self,
        owner: ScopeChatModel,
        routed: Routed,
        budget: BudgetGovernor | None,
        messages: list[BaseMessage],
    ) -> None:
        self.owner, self.routed, self.budget, self.messages = owner, routed, budget, messages
        self.run_id = routed.run_id
        self.errors: dict[str, BaseException] = {}

    def failed(self, name: str, exc: BaseException, started: float) -> None:
        self.errors[name] = exc
        router, routed = self.owner.router, self.routed
        error = f"{type(exc).__name__}: {exc}"[:500]
        latency, run_id = time.perf_counter() - started, f"{self.run_id}:{name}:failed"
        router.writer.submit(
            lambda: router.record_call(
                routed.decision, routed.text, name, latency_s=latency, error=error, run_id=run_id
            )
        )

    def succeeded(self, name: str, reply: AIMessage, started: float) -> AIMessage:
        usage = usage_of(self.messages, reply)
        metadata = self._metadata(name, usage, time.perf_counter() - started, reply)
        return reply.model_copy(
            update={"usage_metadata": usage, "response_metadata": {**reply.response_metadata, **metadata}}
        )

    def closing_chunk(self, name: str, full: AIMessageChunk | None, started: float) -> AIMessageChunk:
        """The stream's last chunk: model name, routing summary, and usage if the candidate sent none."""
        reply = full or AIMessageChunk(content="")
        usage = usage_of(self.messages, reply)
        metadata = self._metadata(name, usage, time.perf_counter() - started, reply)
        missing = not (reply.usage_metadata and reply.usage_metadata.get("input_tokens"))
        return AIMessageChunk(
            content="", response_metadata=metadata, usage_metadata=usage if missing else None, chunk_position="last"
        )

    def _metadata(self, name: str, usage: Mapping[str, int], latency: float, reply: AIMessage) -> dict[str, Any]:
        owner, routed = self.owner, self.routed
        spec = owner._specs[name]
        in_tok, out_tok = int(usage["input_tokens"]), int(usage["output_tokens"])
        cost = spec.cost(in_tok, out_tok)
        if self.budget is not None:
            self.budget.observe(cost, reserved_usd=routed.decision.reserved_usd)
        router, evaluator, messages, run_id = owner.router, owner.evaluator, self.messages, self.run_id

        def record() -> None:
            score = evaluator(messages, reply) if evaluator is not None else None
            router.record_call(
                routed.decision,
                routed.text,
                name,
                input_tokens=in_tok,
                output_tokens=out_tok,
                latency_s=latency,
                score=score,
                run_id=run_id,
            )

        router.writer.submit(record)
        scope = {
            **routed.decision.overview(),
            "model": name,
            "run_id": run_id,
            "cost_usd": cost,
            "latency_s": round(latency, 6),
            "failed": {m: f"{type(e).__name__}: {e}"[:200] for m, e in self.errors.items()},
        }
        return {"model_name": name, "scope": scope}
