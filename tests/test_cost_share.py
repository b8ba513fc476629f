"""cost_share: alpha from a spending target, calibrated on the store's own outcomes, per call or up front."""

from __future__ import annotations

import pytest

from scope_core import BehaviourStore, ModelSpec, Router, ScopeError
from scope_core.errors import InvalidInputError

MATH_Q = "Compute the integral of x^20 times sin(x) from 0 to pi"
GREET_Q = "Say hello to my friend number 40 in a cheerful tone"


def test_a_share_target_sets_alpha_from_the_stores_own_outcomes(router: Router):
    # the store: math prompts only 'large' (the dearest) gets right, greetings every model does
    low, half = router.alpha_for(0.01), router.alpha_for(0.5)
    assert 0.0 < low < half < 1.0 and router.alpha_for(1.0) == 1.0
    assert [router.route(q, cost_share=0.01).chosen for q in (MATH_Q, GREET_Q)] == ["small", "small"]
    decision = router.route(MATH_Q, cost_share=0.5)
    assert decision.chosen == "large" and router.route(GREET_Q, cost_share=0.5).chosen == "small"
    assert decision.alpha == pytest.approx(half) and decision.reason.endswith("alpha set for cost_share 0.5")
    assert router.alpha_for(0.5, allowed=["small", "medium"]) != half  # a curve per candidate set


def test_the_calibration_is_kept_until_the_registry_or_fit_changes(router: Router):
    specs = list(router.models().values())
    curve = router.cost_shares.curve(specs)
    assert router.cost_shares.curve(specs) is curve
    router.register_model(ModelSpec(name="large", input_price=20.0, output_price=60.0))
    assert router.cost_shares.curve(list(router.models().values())) is not curve


def test_cost_share_and_alpha_layers(router: Router):
    with pytest.raises(InvalidInputError, match="give alpha or cost_share, not both"):
        router.route(MATH_Q, alpha=0.5, cost_share=0.3)
    with pytest.raises(InvalidInputError, match="cost_share: must be less than or equal to 1"):
        router.route(MATH_Q, cost_share=1.5)
    layered = Router(router.store, embedder=router.embedder, options={"alpha": 0.99})
    assert layered.route(MATH_Q, cost_share=0.01).chosen == "small"  # the call's share replaces the router's alpha
    assert (
        Router(router.store, embedder=router.embedder, options={"cost_share": 0.01}).route(MATH_Q, alpha=1.0).chosen
        == "large"
    )  # and a call's alpha replaces the router's share


def test_an_empty_store_cannot_calibrate(embedder):
    store = BehaviourStore.ephemeral()
    try:
        router = Router(store, embedder=embedder)
        router.register_model(ModelSpec(name="solo", input_price=1.0, output_price=1.0))
        with pytest.raises(ScopeError, match="calibrated on the store's own outcomes: 0 stored prompts"):
            router.alpha_for(0.3)
    finally:
        store.drop()
