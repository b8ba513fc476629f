"""RoutedCall: fallback, one error when all fail, records of every attempt, budget released."""

import pytest

from scope_core import BudgetGovernor, ModelSpec, Router
from scope_core.errors import AllCandidatesFailedError
from scope_core.routing.call import Usage

SPECS = [
    ModelSpec(name="cheap", input_price=0.1, output_price=0.2),
    ModelSpec(name="dear", input_price=5.0, output_price=15.0),
]


@pytest.fixture
def router(store, embedder) -> Router:
    r = Router(store, embedder=embedder)
    for spec in SPECS:
        r.register_model(spec)
    return r


def test_fallback_records_failure_and_answer(router: Router) -> None:
    budget = BudgetGovernor(1.0, 10)
    call = router.start("What is 2 + 2?", pool=["cheap", "dear"], budget=budget, run_id="r1")
    outcome = None
    for attempt in call:
        if attempt.index == 0:
            call.failed(attempt, TimeoutError("slow"))
            continue
        outcome = call.succeeded(attempt, Usage(None, 7))
    router.flush()
    assert outcome["model"] == call.decision.ranking[1] and outcome["failed"] == {
        call.decision.ranking[0]: "TimeoutError: slow"
    }
    assert budget.reserved == 0.0 and budget.spent == pytest.approx(outcome["cost_usd"])


def test_all_failing_raises_one_error_and_releases_budget(router: Router) -> None:
    budget = BudgetGovernor(1.0, 10)
    call = router.start("What is 2 + 2?", pool=["cheap", "dear"], budget=budget)
    with pytest.raises(AllCandidatesFailedError) as info:
        for attempt in call:
            call.failed(attempt, RuntimeError("down"))
    router.flush()
    assert set(info.value.errors) == set(call.decision.ranking)
    assert budget.reserved == 0.0 and budget.spent == 0.0


def test_run_reports_each_attempt_and_counts_unreported_tokens(router: Router) -> None:
    ended = []
    call = router.start("What is 2 + 2?", pool=["cheap", "dear"], record=False, on_end=lambda c, e: ended.append(e))

    def invoke(attempt):
        if attempt.index == 0:
            raise ConnectionError("down")
        return "four, of course"

    attempt, reply = call.run(invoke)
    outcome = call.succeeded(attempt, reply_text=reply)
    router.flush()
    first, second = call.decision.ranking
    assert [(e.model, e.run_id, e.error) for e in ended] == [
        (first, f"{call.run_id}:{first}:failed", "ConnectionError: down"),
        (second, call.run_id, None),
    ]
    assert outcome["input_tokens"] == call.decision.input_tokens
    assert outcome["output_tokens"] == router.count_tokens("four, of course") == ended[1].output_tokens
    assert router.store.outcome(call.run_id) is None  # record=False stores nothing


def test_an_error_outside_fallback_on_is_raised_as_is(router: Router) -> None:
    call = router.start("What is 2 + 2?", pool=["cheap", "dear"], fallback_on=(TimeoutError,))
    with pytest.raises(KeyError):
        call.run(lambda attempt: {}["missing"])
    router.flush()
    assert set(call.errors) == {call.decision.ranking[0]}  # no fallback was tried
