"""Prompt-cache pricing: a call's cost counts cache reads and writes at the provider's cache prices (genai-prices')."""

from __future__ import annotations

import pytest
from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

from scope_core import ModelSpec, Router
from scope_core.profiling.lookup import spec_for


def billed(model: str, provider: str, **usage: int) -> float:
    return float(calc_price(PriceUsage(**usage), model, provider_id=provider).total_price)


@pytest.mark.parametrize(
    ("model", "provider", "usage", "expected"),
    [
        ("claude-3-5-sonnet", "anthropic", {"input_tokens": 10_000, "cache_read_tokens": 9_000}, 0.0132),
        ("claude-3-5-sonnet", "anthropic", {"input_tokens": 10_000, "cache_write_tokens": 9_000}, 0.04425),
        ("gpt-4o", "openai", {"input_tokens": 10_000, "cache_read_tokens": 9_000}, 0.01875),
        ("gpt-4o", "openai", {"input_tokens": 10_000, "cache_write_tokens": 9_000}, 0.030),  # no write price
    ],
)
def test_a_looked_up_spec_prices_cached_tokens_as_genai_prices_does(model, provider, usage, expected):
    spec = spec_for(f"{provider}:{model}")
    cost = spec.cost(usage["input_tokens"], 500, usage.get("cache_read_tokens", 0), usage.get("cache_write_tokens", 0))
    assert cost == pytest.approx(expected) == pytest.approx(billed(model, provider, output_tokens=500, **usage))


def test_cache_prices_follow_a_spec_s_own_input_price():
    listed, own = spec_for("gpt-4o"), spec_for("gpt-4o", input_price=1.0, output_price=4.0)
    assert own.cache_read_price == pytest.approx(listed.cache_read_price * 1.0 / listed.input_price)
    assert own.cache_write_price is None and own.cost(1000, 0, 1000) < own.cost(1000, 0)


def test_a_spec_without_cache_prices_bills_the_cache_as_input():
    spec = ModelSpec(name="m", input_price=2.0, output_price=8.0)
    assert spec.cost(10_000, 500, 9_000, 1_000) == spec.cost(10_000, 500) == pytest.approx(0.024)
    old = ModelSpec.model_validate_json('{"name": "m", "input_price": 2.0, "output_price": 8.0}')  # stored before
    assert old.cache_read_price is None and old.cost(10, 5) == spec.cost(10, 5)


def test_record_call_prices_and_stores_the_cache_detail(router: Router):
    router.register_model(spec_for("anthropic:claude-3-5-sonnet", name="sonnet"))
    decision = router.route("Summarise the attached report in three bullet points.", allowed={"sonnet"})
    text = "Summarise the attached report in three bullet points."
    out = router.record_call(
        decision, text, "sonnet", input_tokens=10_000, output_tokens=500, cache_read_tokens=9_000, run_id="cached"
    )
    assert out.cost_usd == pytest.approx(0.0132)
    stored = router.store.outcome("cached")
    assert (stored["cr"], stored["it"]) == (9_000, 10_000) and "cw" not in stored
    plain = router.record_call(decision, text, "sonnet", input_tokens=10_000, output_tokens=500, run_id="plain")
    assert plain.cost_usd == pytest.approx(0.0375) and "cr" not in router.store.outcome("plain")
