"""Router behaviour on a real ephemeral Chroma store with real MiniLM embeddings."""

from __future__ import annotations

import threading

import pytest

from scope_core import Capability, NoCandidateError, Outcome, Router, ScopeError, Turn, UnknownModelError
from scope_core.errors import InvalidInputError
from scope_core.text.checks import query_text

from .conftest import GREET, MATH


def test_accuracy_first_picks_the_model_that_is_right_on_similar_prompts(router: Router):
    decision = router.route("Compute the integral of x^20 times sin(x) from 0 to pi", alpha=1.0)
    assert decision.chosen == "large"
    assert decision.estimate_for("large").p_correct > decision.estimate_for("small").p_correct + 0.3


def test_cheap_model_wins_where_every_model_is_right(router: Router):
    decision = router.route("Say hello to my friend number 40 in a cheerful tone", alpha=0.5)
    assert decision.chosen == "small"
    assert decision.ranking[0] == "small" and set(decision.ranking) == {"small", "medium", "large"}


def test_alpha_zero_is_cheapest_and_every_candidate_is_estimated(router: Router):
    decision = router.route("Compute the integral of x^20 times sin(x) from 0 to pi", alpha=0.0)
    assert decision.chosen == "small"
    costs = {e.model: e.cost_usd for e in decision.estimates}
    assert costs["small"] < costs["medium"] < costs["large"]
    assert decision.estimates[0].evidence.neighbour_ids, "evidence lists the neighbours used"


def test_min_accuracy_picks_cheapest_model_predicted_to_reach_it(router: Router):
    decision = router.route("Compute the integral of x^21 times sin(x) from 0 to pi", min_accuracy=0.7)
    assert decision.chosen == "large"
    assert "min_accuracy" in decision.reason


def test_max_cost_excludes_dear_models_and_says_why(router: Router):
    decision = router.route("Compute the integral of x^21 times sin(x) from 0 to pi", alpha=1.0, max_cost=1e-4)
    assert decision.chosen != "large"
    assert "max_cost" in decision.excluded["large"]


def test_required_capability_and_allowed_models(router: Router):
    decision = router.route("Say hello to my friend number 40", required={"tools"}, alpha=0.5)
    assert decision.chosen == "medium"
    assert "lacks tools" in decision.excluded["small"]
    with pytest.raises(NoCandidateError):
        router.route("Say hello", allowed={"small"}, required={Capability.TOOLS})


def test_bad_requests_are_refused_with_clear_errors(router: Router):
    with pytest.raises(ValueError, match="empty"):
        router.route("   ")
    with pytest.raises(InvalidInputError, match="alpha"):
        router.route("hello", alpha=1.5)
    with pytest.raises(InvalidInputError, match="alpha: must be a finite number"):
        router.route("hello", alpha=float("nan"))
    with pytest.raises(UnknownModelError, match="nope"):
        router.route("hello", allowed={"nope"})


def test_conversation_routes_on_latest_tool_results(router: Router):
    turns = [
        Turn("user", "Say hello to my friend number 40 in a cheerful tone"),
        Turn("assistant", "", tool_calls=("calculator",)),
        Turn("tool", "Compute the integral of x^20 times sin(x) from 0 to pi"),
    ]
    assert "Tool results" in query_text(turns)
    assert router.route(turns, alpha=1.0).chosen == "large"
    assert router.route(turns[:1], alpha=0.5).chosen == "small"
    assert router.route(turns, alpha=0.9).chosen == "large"


def test_record_is_idempotent_and_bad_outcomes_change_nothing(router: Router, pool):
    before = router.store.count_outcomes()
    again = [
        Outcome(
            prompt=t,
            model="small",
            score=1.0,
            input_tokens=20,
            output_tokens=50,
            cost_usd=pool[0].cost(20, 50),
            source="fixture",
        )
        for t in GREET
    ]
    assert router.record(again) == 0
    assert router.store.count_outcomes() == before
    with pytest.raises(UnknownModelError):
        router.record([Outcome(prompt="new prompt", model="ghost", score=1.0)])
    with pytest.raises(InvalidInputError, match=r"^Outcome: score: score must be a number in \[0, 1\], got 1.5$"):
        Outcome(prompt="x", model="small", score=1.5)
    assert router.store.count_outcomes() == before
    assert router.store.count_prompts() == len(MATH) + len(GREET)


def test_record_call_then_feedback_moves_the_estimate(router: Router):
    text = "Translate the word 'bonjour' into English please"
    decision = router.route(text, alpha=0.0)
    first = decision.estimate_for("small").p_correct
    for i in range(6):
        out = router.record_call(
            decision, text, "small", input_tokens=10, output_tokens=5, latency_s=0.1, run_id=f"run-{i}"
        )
        assert out.score is None and out.cost_usd == pytest.approx(router.models()["small"].cost(10, 5))
        router.feedback(f"run-{i}", 0.0)
    after = router.route(text, alpha=0.0).estimate_for("small").p_correct
    assert after < first - 0.2
    stored = router.store.outcome("run-0")
    assert stored["s"] == 0.0 and stored["m"] == "small"
    with pytest.raises(KeyError):
        router.feedback("no-such-run", 1.0)


def test_concurrent_writers_on_one_prompt_lose_nothing(router: Router, pool):
    text = "A brand new prompt that many workers answer at once"
    errors: list[Exception] = []

    def write(model: str, i: int) -> None:
        try:
            router.record(
                Outcome(
                    id=f"{model}-{i}",
                    prompt=text,
                    model=model,
                    score=1.0,
                    input_tokens=1,
                    output_tokens=1,
                    cost_usd=0.0,
                )
            )
        except Exception as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s.name, i)) for s in pool for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    neighbours = router.store.nearest(router.embed_texts([text])[0], 1)
    summary = neighbours.stats[0]
    assert {m: int(s[0]) for m, s in summary.items()} == {"small": 4, "medium": 4, "large": 4}


def test_a_new_model_with_few_outcomes_is_shrunk_toward_its_global_mean(router: Router):
    from scope_core import ModelSpec

    router.register_model(ModelSpec(name="newbie", input_price=0.05, output_price=0.1))
    router.record([Outcome(prompt=MATH[0], model="newbie", score=1.0, input_tokens=20, output_tokens=50, cost_usd=0.0)])
    estimate = router.route(MATH[0], alpha=1.0).estimate_for("newbie")
    assert 0.5 <= estimate.p_correct < 1.0
    assert estimate.p_std > router.route(MATH[0], alpha=1.0).estimate_for("large").p_std


def test_registry_is_shared_through_the_store(router: Router, embedder):
    other = Router(router.store, embedder=embedder)
    assert set(other.models()) == {"small", "medium", "large"}
    with pytest.raises(ScopeError, match="no models"):
        from scope_core import BehaviourStore

        Router(BehaviourStore.ephemeral(), embedder=embedder).route("hi")


async def test_async_route_matches_sync(router: Router):
    text = "Compute the integral of x^20 times sin(x) from 0 to pi"
    assert (await router.aroute(text, alpha=1.0)).chosen == router.route(text, alpha=1.0).chosen


def test_an_unscored_repeat_does_not_dilute_the_scored_evidence(router: Router):
    text = "Compute the integral of x^20 times sin(x) from 0 to pi"
    before = router.route(text, alpha=1.0)
    router.record_call(before, text, "small", input_tokens=20, output_tokens=50, run_id="pending")
    after = router.route(text, alpha=1.0)
    for model in ("small", "large"):
        assert after.estimate_for(model).p_correct == pytest.approx(before.estimate_for(model).p_correct, abs=0.01)


def test_input_tokens_count_the_whole_conversation(router: Router):
    turns = [Turn("system", "context " * 400), Turn("user", "Say hello to my friend number 40")]
    decision = router.route(turns, alpha=0.5)
    assert decision.input_tokens > 400 > router.route(turns[1].content).input_tokens


def test_a_spent_budget_refuses_calls_with_a_budget_error(router: Router):
    from scope_core import BudgetExhaustedError, BudgetGovernor

    governor = BudgetGovernor(budget_usd=1e-3, expected_calls=10)
    text = "Compute the integral of x^20 times sin(x) from 0 to pi"
    assert router.route(text, budget=governor).chosen
    governor.observe(1e-3 - 1e-9)  # almost all spent: nothing fits in the room left
    with pytest.raises(BudgetExhaustedError, match="budget"):
        router.route(text, budget=governor)


def test_concurrent_calls_under_one_budget_cannot_cross_the_hard_cap(router: Router):
    from scope_core import BudgetExhaustedError, BudgetGovernor

    governor = BudgetGovernor(budget_usd=5e-4, expected_calls=50)
    text = "Compute the integral of x^20 times sin(x) from 0 to pi"
    in_flight = []
    for _ in range(50):  # route many calls before any of them reports its cost
        try:
            in_flight.append(router.route(text, budget=governor, alpha=1.0))
        except BudgetExhaustedError:
            break
    assert in_flight and len(in_flight) < 50, "the reservations must run out before 50 dear calls"
    worst_case = sum(d.estimate_for(d.chosen).cost_usd for d in in_flight)
    assert worst_case <= governor.hard_cap
    for d in in_flight:
        governor.observe(d.estimate_for(d.chosen).cost_usd, reserved_usd=d.reserved_usd)
    assert governor.reserved == pytest.approx(0.0, abs=1e-12) and governor.spent <= governor.hard_cap


def test_routing_mode_can_be_set_per_call(router: Router):
    turns = [
        Turn("user", "Say hello to my friend number 40 in a cheerful tone"),
        Turn("assistant", "", tool_calls=("calculator",)),
        Turn("tool", "Compute the integral of x^20 times sin(x) from 0 to pi"),
    ]
    auto = router.route(turns).estimate_for("small").p_correct
    last_user = router.route(turns, routing_mode="last_user").estimate_for("small").p_correct
    assert last_user > auto + 0.2  # the greeting alone is easy for the small model, the integral is not
