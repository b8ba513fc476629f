"""The same scenario through ScopeChatModel and ScopeLLM: the same records in the store, the same errors.

Both adapters leave the call to scope_core (``Router.start``): with candidates that report no usage,
tokens and costs are the router's own counts, so the two stores must hold identical records.
"""

from __future__ import annotations

from typing import Any, Protocol

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage

from scope_core import BehaviourStore, BudgetExhaustedError, BudgetGovernor, ModelSpec, Router, text_hash
from scope_core.errors import AllCandidatesFailedError, UnknownRunError
from scope_core.routing.candidate import Candidate
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
from scope_llamaindex import SCOPE_KEY, ScopeLLM
from scope_llamaindex.testing import ScriptedLLM

SPECS = [
    ModelSpec(name="cheap", input_price=0.1, output_price=0.4),
    ModelSpec(name="strong", input_price=3.0, output_price=15.0),
]
QUERY = "Name three rivers that flow through Germany."
UNSTABLE = {"run_id", "latency_s", "timings_ms"}  # differ between any two calls


class Side(Protocol):
    router: Router

    def fail(self, name: str) -> None: ...
    def ask(self, text: str, **overrides: Any) -> dict[str, Any]: ...
    def feedback(self, run_id: str, score: float) -> None: ...


class LangChainSide:
    def __init__(self, router: Router) -> None:
        self.router = router
        pool = [Candidate(model=ScriptedChatModel(model=s.name, report_usage=False), spec=s) for s in SPECS]
        self.llm = ScopeChatModel(candidates=pool, router=router)

    def fail(self, name: str) -> None:
        next(c.model for c in self.llm.candidates if c.name == name).error = ConnectionError(f"{name} is down")

    def ask(self, text: str, **overrides: Any) -> dict[str, Any]:
        return self.llm.invoke([HumanMessage(text)], **overrides).response_metadata["scope"]

    def feedback(self, run_id: str, score: float) -> None:
        self.llm.feedback(run_id, score)


class LlamaIndexSide:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.models = {s.name: ScriptedLLM(model=s.name, report_usage=False) for s in SPECS}
        self.llm = ScopeLLM(candidates=[Candidate(model=self.models[s.name], spec=s) for s in SPECS], router=router)

    def fail(self, name: str) -> None:
        self.models[name].error = ConnectionError(f"{name} is down")

    def ask(self, text: str, **overrides: Any) -> dict[str, Any]:
        return self.llm.chat([ChatMessage(role="user", content=text)], **overrides).additional_kwargs[SCOPE_KEY]

    def feedback(self, run_id: str, score: float) -> None:
        self.llm.feedback(run_id, score)


@pytest.fixture
def sides(embedder) -> list[Side]:
    return [
        LangChainSide(Router(BehaviourStore.ephemeral(), embedder=embedder)),
        LlamaIndexSide(Router(BehaviourStore.ephemeral(), embedder=embedder)),
    ]


def records(side: Side, text: str = QUERY) -> list[dict[str, Any]]:
    """The store's records of a prompt, without their timing, in a stable order."""
    side.router.flush()
    found = side.router.store.outcomes_for([text_hash(text)])
    stable = [{k: v for k, v in r.items() if k not in ("lat", "ts")} for r in found]
    return sorted(stable, key=lambda r: (str(r["m"]), str(r.get("err"))))


def stable(scope: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in scope.items() if k not in UNSTABLE}


def test_a_fallback_after_a_failure(sides: list[Side]) -> None:
    scopes = []
    for side in sides:
        side.fail("cheap")  # no evidence yet: the cheaper model is chosen, fails, and 'strong' answers
        scope = side.ask(QUERY)
        assert (scope["chosen"], scope["model"], scope["attempt"]) == ("cheap", "strong", 1)
        assert scope["failed"] == {"cheap": "ConnectionError: cheap is down"}
        side.router.flush()
        assert side.router.store.outcome(f"{scope['run_id']}:cheap:failed")["err"] == scope["failed"]["cheap"]
        assert side.router.store.outcome(scope["run_id"])["m"] == "strong"
        scopes.append(stable(scope))
    assert scopes[0] == scopes[1]
    langchain, llamaindex = (records(s) for s in sides)
    assert [r["m"] for r in langchain] == ["cheap", "strong"] and langchain[1]["c"] > 0
    assert langchain == llamaindex


def test_every_candidate_failing(sides: list[Side]) -> None:
    for side in sides:
        side.fail("cheap")
        side.fail("strong")
        with pytest.raises(AllCandidatesFailedError) as info:
            side.ask(QUERY)
        assert set(info.value.errors) == {"cheap", "strong"}
    langchain, llamaindex = (records(s) for s in sides)
    assert [(r["m"], r["err"]) for r in langchain] == [
        ("cheap", "ConnectionError: cheap is down"),
        ("strong", "ConnectionError: strong is down"),
    ]
    assert langchain == llamaindex


def test_a_budget_refusal(sides: list[Side]) -> None:
    for side in sides:
        budget = BudgetGovernor(budget_usd=0.001, expected_calls=10)
        budget.observe(0.002)  # overspent: nothing is left for another call
        with pytest.raises(BudgetExhaustedError):
            side.ask(QUERY, budget=budget)
        assert budget.reserved == 0.0 and budget.calls == 1
        assert records(side) == []


def test_a_feedback_score_lands_on_the_answer(sides: list[Side]) -> None:
    for side in sides:
        scope = side.ask(QUERY, model="strong", alpha=0.2)
        side.feedback(scope["run_id"], 0.75)  # waits for the call's own record
        assert records(side)[0]["s"] == 0.75
        with pytest.raises(UnknownRunError, match="no recorded call with run id 'nope'"):
            side.feedback("nope", 1.0)
    langchain, llamaindex = (records(s) for s in sides)
    assert langchain == llamaindex and [r["m"] for r in langchain] == ["strong"]


def test_a_stream_abandoned_half_way_releases_the_budget_hold(sides: list[Side]) -> None:
    langchain, llamaindex = sides
    streams = {
        "langchain": lambda budget: langchain.llm.stream([HumanMessage(QUERY)], budget=budget),
        "llamaindex": lambda budget: llamaindex.llm.stream_chat(
            [ChatMessage(role="user", content=QUERY)], budget=budget
        ),
    }
    for name, open_stream in streams.items():
        budget = BudgetGovernor(budget_usd=1.0, expected_calls=10)
        stream = open_stream(budget)
        next(stream)
        assert budget.reserved > 0, name  # the call holds its predicted cost while it streams
        stream.close()
        assert budget.reserved == 0.0 and budget.calls == 0, name
