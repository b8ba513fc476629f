"""Poisoned evidence cannot take routing down: token counts and costs that cannot be real are refused when recorded
(naming the field, the value and the model), a routed call with absurd usage is kept without it, and the token
estimate stays sane on outliers that got in before."""

from __future__ import annotations

import pytest

from scope_core import ModelSpec, Outcome, Router
from scope_core.errors import ImplausibleOutcomeError
from scope_core.routing.call import Usage
from scope_core.store.records import PromptInfo

from .conftest import GREET, record_scores


def test_token_counts_and_costs_that_cannot_be_real_are_refused_naming_them(router: Router):
    before = router.store.count_outcomes()
    cases = {
        "output_tokens 1,008,251 is beyond the context window of model 'small' (128,000 tokens)": {
            "output_tokens": 1_008_251
        },
        "input_tokens 200,000 is beyond": {"input_tokens": 200_000},
        "cost_usd 1e+06 is more than a call of model 'small' can cost": {"cost_usd": 1e6},
        "output_tokens 60,000 is far outside what model 'small' was seen to use (a mean of 50 over 24)": {
            "output_tokens": 60_000
        },
    }
    for message, usage in cases.items():
        with pytest.raises(
            ImplausibleOutcomeError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")
        ):
            router.record(Outcome(prompt="How long was my answer?", model="small", score=1.0, **usage))
    decision = router.route("How long was my answer?")
    with pytest.raises(ImplausibleOutcomeError, match="context_window=N"):
        router.record_call(decision, "How long was my answer?", "small", input_tokens=10, output_tokens=10**7)
    assert router.store.count_outcomes() == before
    router.record(Outcome(prompt="A long but real answer", model="large", output_tokens=20_000, score=1.0))


def test_a_routed_call_with_absurd_usage_is_kept_without_it_and_the_call_answers(router: Router):
    call = router.start(GREET[0], run_id="absurd")
    attempt, _ = call.run(lambda attempt: "hello!")
    metadata = call.succeeded(attempt, Usage(12, 5_000_000))
    router.flush(timeout=5)
    stored = router.store.outcome("absurd")
    assert metadata["model"] == attempt.model and stored is not None and "ot" not in stored and "c" not in stored
    assert router.records.usage_dropped == 1
    assert router.route(GREET[1]).chosen


def test_outliers_that_got_in_before_cannot_make_every_route_fail(store, embedder):
    router = Router(store, embedder=embedder, cache_ttl_s=0.0)
    for name, price in (("small", 0.1), ("large", 2.0)):
        router.register_model(ModelSpec(name=name, input_price=price, output_price=4 * price))
    record_scores(router, GREET[:6], {"small": 1.0, "large": 1.0}, output_tokens=40)
    specs = router.models()
    poison = [  # one record per model of a million output tokens, stored by an older version that did not check
        Outcome(prompt=GREET[6], model=m, score=1.0, input_tokens=20, output_tokens=1_008_251,
                cost_usd=specs[m].cost(20, 1_008_251))
        for m in ("small", "large")
    ]  # fmt: skip
    vector = router.embed_texts([GREET[6]])[0]
    store.add(poison, {poison[0].prompt_hash: PromptInfo(poison[0].prompt_hash, vector, 12, GREET[6])})
    router.view.invalidate()
    decision = router.route(GREET[7])  # the poisoned prompt is a close neighbour, and in both models' priors
    assert not decision.excluded and decision.chosen in ("small", "large")
    assert all(e.output_tokens < 1000 for e in decision.estimates), [e.output_tokens for e in decision.estimates]
