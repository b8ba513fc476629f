"""Sessions: a step is priced with the prefix each model's prompt cache holds, and the choice may stay for it."""

from __future__ import annotations

import pytest

from scope_core import ModelSpec, Outcome, RouteOptions, Router
from scope_core.routing.call import Usage
from scope_core.routing.sessions import SessionBook

# Claude-like (cheap cache reads, billed writes) and gpt-4o-like (half-price reads, no write fee)
CLAUDE = ModelSpec(name="claude", input_price=3.0, output_price=15.0, cache_read_price=0.3, cache_write_price=3.75)
GPT = ModelSpec(name="gpt", input_price=2.5, output_price=10.0, cache_read_price=1.25)
HAIKU = ModelSpec(name="haiku", input_price=3.0, output_price=15.0, cache_read_price=0.3, cache_write_price=3.75)
MANUAL = "\n".join(f"Section {i}: the valve on line {i} opens at {i * 3} bar." for i in range(150))
OVERHEAD = 40  # the provider's tokens the router does not count (tool definitions, framing)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def router(store, embedder, clock) -> Router:
    router = Router(store, embedder=embedder, cache_ttl_s=0.0, sessions=SessionBook(clock=clock))
    for spec in (CLAUDE, GPT, HAIKU):
        router.register_model(spec)
    router.record(  # every model answers in about 20 tokens
        [
            Outcome(prompt="Name a valve.", model=s.name, input_tokens=100, output_tokens=20, cost_usd=s.cost(100, 20))
            for s in (CLAUDE, GPT, HAIKU)
        ]
    )
    return router


def conversation(steps: int) -> list[tuple[str, str]]:
    turns = [("system", MANUAL), ("user", "When does the valve on line 3 open?")]
    for i in range(steps - 1):
        turns += [("assistant", f"It opens at {9 + i} bar."), ("user", f"And the valve on line {4 + i}?")]
    return turns


def serve(router: Router, steps: int, session: str = "s1", cached: bool = True, **options):
    """Route a session's step and answer it with the provider's usage: the whole prompt written to (or read from)
    the chosen model's cache when ``cached``."""
    call = router.start(conversation(steps), session_id=session, **options)
    attempt, _ = call.run(lambda attempt: "ok")
    inp = call.decision.input_tokens + OVERHEAD
    held = call.decision.estimate_for(attempt.model).cache_read_tokens
    read = int(held) if cached else 0
    call.succeeded(attempt, Usage(inp, 20, read, inp - read if cached and attempt.model != "gpt" else 0))
    router.flush()
    return call.decision, inp


def test_a_later_step_reads_the_cached_prefix_and_stays_for_it(router):
    _, first = serve(router, 1, model="claude")
    decision = router.route(conversation(2), session_id="s1", alpha=0.5)
    claude, gpt = decision.estimate_for("claude"), decision.estimate_for("gpt")
    assert claude.input_tokens == gpt.input_tokens == decision.input_tokens + OVERHEAD  # the provider's count
    assert claude.cache_read_tokens == first and claude.cache_write_tokens == claude.input_tokens - first
    assert gpt.cache_read_tokens == 0 and gpt.cost_usd == pytest.approx(GPT.cost(gpt.input_tokens, gpt.output_tokens))
    assert claude.cost_usd == pytest.approx(
        CLAUDE.cost(claude.input_tokens, claude.output_tokens, first, claude.input_tokens - first)
    )
    assert decision.chosen == "claude" and "stayed on claude for its cached prefix" in decision.reason
    blind = router.route(conversation(2), session_id="s1", alpha=0.5, cache_aware=False)
    assert blind.chosen == "gpt" and "stayed" not in blind.reason  # list prices: gpt is cheaper
    assert blind.estimate_for("claude").cache_read_tokens == 0
    # the output length leans on the session's last step (20 tokens) as much as on the estimate
    assert claude.output_tokens == pytest.approx((blind.estimate_for("claude").output_tokens + 20) / 2)


def test_a_switch_pays_the_cache_write_where_it_is_billed(router):
    serve(router, 1, session="other", model="haiku")  # haiku's provider wrote its cache: it caches
    serve(router, 1, model="claude")
    decision = router.route(conversation(2), session_id="s1")
    haiku = decision.estimate_for("haiku")
    assert haiku.cache_read_tokens == 0 and haiku.cache_write_tokens == haiku.input_tokens
    assert haiku.cost_usd > decision.estimate_for("claude").cost_usd * 3


def test_an_expired_or_foreign_prefix_is_not_read(router, clock):
    serve(router, 1, model="claude")
    clock.now += 301  # past Claude's five minutes
    assert router.route(conversation(2), session_id="s1").estimate_for("claude").cache_read_tokens == 0
    serve(router, 2, model="claude")
    other = [("system", "A different manual."), *conversation(3)[1:]]
    assert router.route(other, session_id="s1").estimate_for("claude").cache_read_tokens == 0
    assert router.route(conversation(3), session_id="s1").estimate_for("claude").cache_read_tokens > 0


def test_a_model_whose_provider_reports_no_cache_use_is_not_credited(router):
    serve(router, 1, model="claude", cached=False)  # no cache_control: nothing written
    claude = router.route(conversation(2), session_id="s1").estimate_for("claude")
    assert claude.cache_read_tokens == claude.cache_write_tokens == 0


def test_route_and_record_call_tell_the_session(router):
    text = "When does the valve on line 3 open?"
    decision = router.route(conversation(1), session_id="s2", model="gpt")
    router.record_call(decision, text, "gpt", input_tokens=decision.input_tokens + OVERHEAD, output_tokens=20)
    gpt = router.route(conversation(2), session_id="s2").estimate_for("gpt")
    assert gpt.cache_read_tokens == decision.input_tokens + OVERHEAD


def test_sessions_are_bounded_and_expire(clock):
    book = SessionBook(max_sessions=2, idle_s=60, clock=clock)
    for session in ("a", "b", "c"):
        book.plan(RouteOptions(session_id=session), "hello", [GPT], 1)
    assert len(book) == 2
    clock.now += 61
    assert len(book) == 0
