"""RouteOptions: one typed form of the per-call keys, built at every edge; a misspelt key is an error naming
the right one, and ``model=`` forces a model the same way everywhere."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.schema import QueryBundle
from llama_index.core.tools.types import ToolMetadata
from typer.testing import CliRunner

from scope_core import BudgetGovernor, ModelSpec, RouteOptions, Router, UnknownModelError
from scope_core.cli import app
from scope_core.errors import InvalidInputError
from scope_core.routing.candidate import Candidate
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
from scope_llamaindex import ScopeLLM, ScopeSelector
from scope_llamaindex.testing import ScriptedLLM

from .conftest import GREET, MATH, record_scores

SPECS = [
    ModelSpec(name="small", input_price=0.1, output_price=0.2),
    ModelSpec(name="large", input_price=5, output_price=15),
]


@pytest.fixture
def seeded(store, embedder) -> Router:
    router = Router(store, embedder=embedder, cache_ttl_s=0.0)
    for spec in SPECS:
        router.register_model(spec)
    record_scores(router, MATH, {"small": 0.0, "large": 1.0})
    record_scores(router, GREET, {"small": 1.0, "large": 1.0})
    return router


def test_a_misspelt_key_names_the_valid_one_at_every_edge(seeded: Router):
    with pytest.raises(InvalidInputError, match="'alhpa'; did you mean 'alpha'"):
        seeded.route(MATH[0], alhpa=0.3)
    lc = ScopeChatModel(
        candidates=[Candidate(model=ScriptedChatModel(model=s.name), spec=s) for s in SPECS], router=seeded
    )
    with pytest.raises(InvalidInputError, match="'alpah'; did you mean 'alpha'"):
        lc.invoke(MATH[0], alpah=0.1)
    with pytest.raises(InvalidInputError, match="did you mean 'max_cost'"):
        lc.bind(max_cots=0.01).invoke(MATH[0])
    li = ScopeLLM(candidates=[Candidate(model=ScriptedLLM(model=s.name), spec=s) for s in SPECS], router=seeded)
    with pytest.raises(InvalidInputError, match="'alpah'; did you mean 'alpha'"):
        li.chat([ChatMessage(role="user", content=MATH[0])], alpah=0.1)
    with pytest.raises(InvalidInputError, match="did you mean 'alpha'"):
        li.complete(MATH[0], alhpa=0.1)
    with pytest.raises(InvalidInputError, match="did you mean 'alpha'"):
        ScopeSelector(seeded, alpah=0.1)
    with pytest.raises(ValueError, match="did you mean 'min_accuracy'"):  # pydantic wraps it in its ValidationError
        ScopeChatModel(candidates=lc.candidates, router=seeded, min_acuracy=0.9)
    result = CliRunner().invoke(app, ["route", MATH[0], "--store", ":memory:", "--option", "alpah=0.3"])
    assert result.exit_code == 1 and "did you mean 'alpha'" in result.output


def test_a_key_far_from_every_option_is_the_candidates_own(seeded: Router):
    """Adapters pass their candidates' own call kwargs on: only a near miss of a routing key is refused."""
    lc = ScopeChatModel(
        candidates=[Candidate(model=ScriptedChatModel(model=s.name), spec=s) for s in SPECS], router=seeded
    )
    lc.invoke([HumanMessage(MATH[0])], seed=7)
    small = next(c.model for c in lc.candidates if c.name == "small")
    large = next(c.model for c in lc.candidates if c.name == "large")
    assert any(call.kwargs.get("seed") == 7 for call in small.calls + large.calls)
    with pytest.raises(InvalidInputError, match="unknown routing option 'seed'"):
        seeded.route(MATH[0], seed=7)  # the router takes routing options only


def test_model_forces_the_same_way_everywhere(seeded: Router):
    forced = seeded.route(GREET[0], model="large", alpha=0.0)
    assert forced.chosen == "large" and forced.ranking == ["large"] and forced.reason.startswith("forced by the caller")
    with pytest.raises(UnknownModelError, match="gpt-9"):
        seeded.route(GREET[0], model="gpt-9")
    lc = ScopeChatModel(
        candidates=[Candidate(model=ScriptedChatModel(model=s.name), spec=s) for s in SPECS], router=seeded
    )
    assert lc.invoke(GREET[0], model="large", alpha=0.0).response_metadata["model_name"] == "large"
    with pytest.raises(UnknownModelError, match="gpt-9"):
        lc.invoke(GREET[0], model="gpt-9")
    li = ScopeLLM(candidates=[Candidate(model=ScriptedLLM(model=s.name), spec=s) for s in SPECS], router=seeded)
    assert li.complete(GREET[0], model="large", alpha=0.0).additional_kwargs["scope_model"] == "large"
    with pytest.raises(UnknownModelError, match="gpt-9"):
        li.complete(GREET[0], model="gpt-9")


def test_options_layer_router_then_adapter_then_call(seeded: Router):
    seeded.options = RouteOptions(alpha=1.0)
    assert seeded.route(GREET[0]).alpha == 1.0
    assert seeded.route(GREET[0], alpha=0.2).alpha == 0.2
    lc = ScopeChatModel(
        candidates=[Candidate(model=ScriptedChatModel(model=s.name), spec=s) for s in SPECS], router=seeded, alpha=0.3
    )
    assert lc.routing.alpha == 0.3 and lc.invoke(GREET[0]).response_metadata["scope"]["alpha"] == 0.3
    assert lc.invoke(GREET[0], alpha=0.6).response_metadata["scope"]["alpha"] == 0.6
    selector = ScopeSelector(seeded, alpha=0.0)
    choices = [ToolMetadata(name="small", description="s"), ToolMetadata(name="large", description="l")]
    assert selector.select(choices, QueryBundle(MATH[0])).ind == 0  # alpha 0: the cheaper engine


def test_values_are_checked_once_with_one_line_errors():
    with pytest.raises(InvalidInputError, match=r"alpha: must be a finite number \(got nan\)"):
        RouteOptions.build(alpha=float("nan"))
    with pytest.raises(InvalidInputError, match="max_cost: must be greater than 0"):
        RouteOptions.build({"max_cost": -1})
    with pytest.raises(InvalidInputError, match="routing_mode"):
        RouteOptions.build(routing_mode="sideways")
    options = RouteOptions.build({"alpha": 0.3}, RouteOptions(max_cost=0.5), alpha=0.9, budget=None)
    assert (options.alpha, options.max_cost) == (0.9, 0.5)
    with pytest.raises(Exception, match="frozen"):
        options.alpha = 0.1  # type: ignore[misc]
    governed = RouteOptions(budget=BudgetGovernor(1.0, 10), max_cost=0.01).governed()
    assert governed.alpha == pytest.approx(0.5) and governed.max_cost <= 0.01
