"""What a user sees when they print things: short reprs, and warnings that point at their own line."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from langchain_core.messages import HumanMessage

from scope_core import BehaviourStore, BudgetGovernor, ModelSpec, Router
from scope_core.errors import ColdStartWarning
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel

QUERY = "Compute the integral of x^7 times sin(x) from 0 to pi"


def test_a_decision_repr_is_short_and_says_what_matters(router: Router):
    decision = router.route(QUERY, alpha=0.9)
    text = repr(decision)
    assert len(text) < 1000 and "\n" not in text, len(text)
    assert f"chosen='{decision.chosen}'" in text and "ranking=" in text and "reason=" in text
    assert decision.estimates[0].evidence.neighbour_ids[0] not in text  # no neighbour ids
    assert len(repr(decision.estimates[0])) < 250 and "neighbours=" in repr(decision.estimates[0])


def test_a_budget_governor_repr_reads_as_money():
    governor = BudgetGovernor(2.0, 100)
    governor.observe(0.25)
    assert repr(governor) == (
        "BudgetGovernor(budget=$2.00, spent=$0.250 over 1 of 100 calls, reserved=$0, hard_cap=$2.00, "
        f"alpha={governor.alpha:.3f})"
    )


@pytest.fixture
def cold(embedder) -> Router:
    store = BehaviourStore.ephemeral()
    router = Router(store, embedder=embedder, cache_ttl_s=0.0)
    router.register_model(ModelSpec(name="mathbot", input_price=1.0, output_price=2.0))
    yield router
    store.drop()


def _line() -> int:
    return inspect.currentframe().f_back.f_lineno


def test_the_cold_start_warning_points_at_the_callers_line(cold: Router):
    with pytest.warns(ColdStartWarning) as caught:
        line = _line() + 1
        cold.route(QUERY)
    assert (caught[0].filename, caught[0].lineno) == (__file__, line)


def test_it_points_at_the_callers_line_through_start_aroute_and_langchain(cold: Router):
    spec = cold.models()["mathbot"]
    for name, call in {
        "start": lambda r: r.start(QUERY, record=False),
        "aroute": lambda r: asyncio.run(r.aroute(QUERY)),
        "langchain": lambda r: ScopeChatModel(candidates=[(ScriptedChatModel(model="mathbot"), spec)], router=r).invoke(
            [HumanMessage(QUERY)]
        ),
    }.items():
        with pytest.warns(ColdStartWarning) as caught:  # a new router warns again
            call(Router(cold.store, embedder=cold.embedder))
        assert caught[0].filename == __file__, (name, caught[0].filename)
