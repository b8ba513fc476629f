"""Only the candidate model's own call can fail it: an adapter's or the caller's error is raised as it is and
recorded as neither outcome nor failure (no cooldown, no error in the statistics)."""

from __future__ import annotations

import pytest
from langchain_core.tools import tool
from llama_index.core.tools import FunctionTool

from scope_core import BudgetGovernor, Capability, ModelSpec, Router
from scope_core.store.coverage import evidence_coverage
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
from scope_llamaindex import ScopeLLM
from scope_llamaindex.testing import ScriptedLLM

TOOLS = frozenset({Capability.TOOLS})
CHEAP = ModelSpec(name="cheap", input_price=0.1, output_price=0.2, capabilities=TOOLS)
DEAR = ModelSpec(name="dear", input_price=5, output_price=9, capabilities=TOOLS)


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return "4"


class SelfBinding(ScriptedChatModel):
    """A user's fake whose bind_tools returns the model itself instead of a binding."""

    def bind_tools(self, tools, **kwargs):
        return self


class BrokenToolPrep(ScriptedLLM):
    """A user's LLM whose function-calling preparation has a bug."""

    def _prepare_chat_with_tools(self, tools, **kwargs):
        raise TypeError("my bug")


@pytest.fixture
def router(store, embedder) -> Router:
    r = Router(store, embedder=embedder, cache_ttl_s=0.0)
    for spec in (CHEAP, DEAR):
        r.register_model(spec)
    return r


def _nothing_failed(router: Router) -> None:
    router.flush()
    assert {m: c.errors for m, c in evidence_coverage(router.store).items()} == {"cheap": 0, "dear": 0}
    assert router.health.factor("cheap") == router.health.factor("dear") == 1.0


def test_a_bind_tools_that_returns_no_binding_is_the_callers_error(router: Router):
    llm = ScopeChatModel(
        candidates=[(SelfBinding(model="cheap"), CHEAP), (SelfBinding(model="dear"), DEAR)], router=router
    )
    for _ in range(4):
        with pytest.raises(TypeError, match="bind_tools must return a binding of the chat model"):
            llm.bind_tools([calculator]).invoke("What is 2 + 2?")
    _nothing_failed(router)
    assert router.store.count_outcomes() == 0


def test_a_model_error_still_falls_back_and_counts(router: Router):
    failing, answering = (
        ScriptedChatModel(model="cheap", error=ConnectionError("down")),
        ScriptedChatModel(model="dear"),
    )
    llm = ScopeChatModel(candidates=[(failing, CHEAP), (answering, DEAR)], router=router, alpha=0.0)
    reply = llm.invoke("What is 2 + 2?")
    router.flush()
    assert reply.response_metadata["scope"]["model"] == "dear"
    assert evidence_coverage(router.store)["cheap"].errors == 1


def test_a_llamaindex_candidate_whose_tool_preparation_breaks_is_the_callers_error(router: Router):
    llm = ScopeLLM(
        candidates=[
            (ScriptedLLM(model="cheap", error=ConnectionError("down")), CHEAP),
            (BrokenToolPrep(model="dear"), DEAR),
        ],
        router=router,
        alpha=0.0,
    )
    with pytest.raises(TypeError, match="my bug"):
        llm.chat_with_tools([FunctionTool.from_defaults(fn=lambda expression: "4", name="calculator")], "2 + 2?")
    router.flush()
    coverage = evidence_coverage(router.store)
    assert (coverage["cheap"].errors, coverage["dear"].outcomes) == (1, 0)  # the model error counts, the bug does not
    assert router.health.factor("dear") == 1.0


def test_a_prepare_error_releases_the_budget_and_records_nothing(router: Router):
    budget = BudgetGovernor(1.0, 10)
    call = router.start("What is 2 + 2?", budget=budget)

    def prepare(attempt):
        raise KeyError("wrong candidate table")

    with pytest.raises(KeyError):
        call.run(lambda ready: "never", prepare)
    _nothing_failed(router)
    assert budget.reserved == 0.0 and router.store.count_outcomes() == 0
