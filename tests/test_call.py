"""RoutedCall: fallback, one error when all fail, records of every attempt, budget released."""

import pytest

from scope_core import BudgetGovernor, ModelSpec, Router
from scope_core.call import Usage
from scope_core.errors import AllCandidatesFailedError

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
