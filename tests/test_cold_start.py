"""Honest cold start: estimates without evidence are marked, the reason says so, the router warns once."""

from __future__ import annotations

import warnings

import pytest

from scope_core import BehaviourStore, ModelSpec, Outcome, Router
from scope_core.errors import ColdStartWarning, UnknownRunError
from scope_core.money import usd
from scope_core.store.coverage import evidence_coverage

from .conftest import GREET, record_scores

QUERY = "Say hello to my friend number 99 in a cheerful tone"


@pytest.fixture
def fresh(embedder) -> Router:
    store = BehaviourStore.ephemeral()
    router = Router(store, embedder=embedder, cache_ttl_s=0.0)
    for name, price in (("cheap", 0.1), ("dear", 10.0)):
        router.register_model(ModelSpec(name=name, input_price=price, output_price=price))
    yield router
    store.drop()


def test_models_without_evidence_are_marked_and_warned_about_once(fresh):
    with pytest.warns(ColdStartWarning) as caught:
        decision = fresh.route(QUERY, alpha=1.0)
    cold = [str(w.message) for w in caught if w.category is ColdStartWarning]
    assert sorted(m.split("'")[1] for m in cold) == ["cheap", "dear"], cold
    assert all(e.cold_start for e in decision.estimates)
    assert "cold start: no scored outcome yet for cheap, dear" in decision.reason
    assert decision.overview()["candidates"]["dear"]["cold_start"] is True
    with warnings.catch_warnings():
        warnings.simplefilter("error", ColdStartWarning)  # a second warning would raise here
        fresh.route(QUERY)
        forced = fresh.start(QUERY, pool=["cheap", "dear"], model="dear").decision.reason
    assert forced.startswith("forced by the caller") and forced.endswith(
        "cold start: no scored outcome yet for dear (p_correct is a default)"
    )


def test_evidence_ends_the_cold_start(fresh):
    record_scores(fresh, GREET, {"dear": 1.0})
    with pytest.warns(ColdStartWarning, match="'cheap'"):
        decision = fresh.route(QUERY)
    assert not decision.estimate_for("dear").cold_start and decision.estimate_for("cheap").cold_start
    assert decision.reason.endswith("cold start: no scored outcome yet for cheap (p_correct is a default)")
    record_scores(fresh, GREET, {"cheap": 0.0})
    assert "cold start" not in fresh.route(QUERY).reason


def test_a_forced_model_says_it_was_forced(fresh):
    record_scores(fresh, GREET, {"cheap": 1.0, "dear": 1.0})
    call = fresh.start(QUERY, pool=["cheap", "dear"], model="dear", alpha=0.0)
    assert call.decision.chosen == "dear" and call.decision.reason.startswith("forced by the caller (model='dear'")
    assert "highest utility" not in call.decision.reason
    assert fresh.start(QUERY, pool=["cheap", "dear"], alpha=0.0).decision.reason.startswith("highest utility")


def test_feedback_on_an_unknown_run_id_raises(fresh):
    record_scores(fresh, GREET, {"cheap": 1.0, "dear": 1.0})
    decision = fresh.route(QUERY)
    fresh.record_call(decision, QUERY, "cheap", input_tokens=5, output_tokens=5, run_id="run-1", wait=False)
    fresh.feedback("run-1", 1.0)  # pending on the writer: feedback waits for it
    assert fresh.store.outcome("run-1")["s"] == 1.0
    with pytest.raises(UnknownRunError, match="no recorded call with run id 'nope'"):
        fresh.feedback("nope", 1.0)


def test_costs_print_with_significant_digits(fresh):
    assert [usd(x) for x in (0.0, 1.23e-05, 0.04213, 0.5, 1234.5, None)] == [
        "$0", "$0.0000123", "$0.0421", "$0.500", "$1,234.50", "-"
    ]  # fmt: skip
    record_scores(fresh, GREET, {"cheap": 1.0, "dear": 1.0}, input_tokens=10, output_tokens=10)
    reason = fresh.route(QUERY, alpha=0.5).reason
    assert "$0.000000" not in reason and "cost=$0.00000" in reason  # e.g. cost=$0.00000270


def test_coverage_counts_outcomes_scores_and_errors(fresh):
    record_scores(fresh, GREET[:4], {"dear": 1.0})
    fresh.record([Outcome(prompt=GREET[5], model="dear", input_tokens=3, output_tokens=3, cost_usd=0.0)])
    fresh.record(
        [Outcome(prompt=t, model="cheap", error="TimeoutError", source=f"e{i}") for i, t in enumerate(GREET[:3])]
    )
    coverage = evidence_coverage(fresh.store)
    assert (coverage["dear"].outcomes, coverage["dear"].scored, coverage["dear"].errors) == (5, 4, 0)
    assert (coverage["cheap"].outcomes, coverage["cheap"].scored, coverage["cheap"].errors) == (3, 0, 3)
    assert coverage["cheap"].cold_start and not coverage["dear"].cold_start
