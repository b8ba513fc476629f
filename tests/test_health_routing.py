"""Failures are evidence: a model that keeps failing is not tried first while it is down, and comes back."""

from __future__ import annotations

from scope_core import Router
from scope_core.routing.health import HealthTracker

from .conftest import MATH, seed_outcomes


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_failing_model_cools_down_then_comes_back(store, pool, embedder):
    clock = Clock()
    router = Router(store, embedder=embedder, cache_ttl_s=0.0, health=HealthTracker(allowed_fails=2, clock=clock))
    for spec in pool:
        router.register_model(spec)
    seed_outcomes(router, pool)
    query = "Compute the integral of x^5 times cos(x) from 0 to pi"
    first = router.route(query, alpha=1.0)
    assert first.chosen == "large"
    trace = []
    for _ in range(3):  # the chosen model fails each call, as a down provider would
        decision = router.route(query, alpha=1.0)
        trace.append(decision.chosen)
        router.record_call(decision, MATH[0], decision.chosen, error="503 Service Unavailable")
    # one failure halves large's p; the second puts it in cooldown (p 0): not first any more
    p_large = {e.model: e.p_correct for e in router.route(query, alpha=1.0).estimates}["large"]
    assert p_large == 0.0 and router.route(query, alpha=1.0).chosen != "large"
    assert trace[0] == "large"
    clock.now += 10.0  # the cooldown (5 s) is over: large is tried first again
    assert router.route(query, alpha=1.0).chosen == "large"
    router.record_call(router.route(query, alpha=1.0), MATH[0], "large", error="timeout")
    assert router.health.factor("large") == 0.5  # a failure after the cooldown lowers p again...
    router.record_call(router.route(query, alpha=1.0), MATH[0], "large", input_tokens=10, output_tokens=10)
    assert router.health.factor("large") == 1.0  # ...and a success restores it
    assert router.route(query, alpha=1.0).chosen == "large"


def test_the_cooldown_example_trace():
    """examples/failure_cooldown.py: the failing model stops being tried first at once, and returns."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "failure_cooldown.py"
    spec = importlib.util.spec_from_file_location("failure_cooldown", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    trace = module.main(calls=10, down_for=6, every_s=10.0)
    first = [model for _, model, _ in trace]
    assert first[0] == "cheap" and trace[0][2] == "failed, fell back"
    assert first[1:7] == ["strong"] * 6  # within the minute after the failure nobody pays its latency again
    assert first[7:] == ["cheap"] * 3 and trace[-1][2] == "answered"  # a quiet minute later: recovered
