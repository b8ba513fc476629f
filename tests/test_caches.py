"""The router's neighbourhood cache and the store's summary cache: fast repeats, never stale after own writes."""

from __future__ import annotations

import time

import numpy as np

from scope_core import BehaviourStore, Outcome, Router

from .conftest import GREET, MATH, seed_outcomes


def _router(store: BehaviourStore, pool, embedder, ttl: float = 60.0) -> Router:
    router = Router(store, embedder=embedder, cache_ttl_s=ttl)
    for spec in pool:
        router.register_model(spec)
    seed_outcomes(router, pool)
    return router


def _fail(model: str, text: str, n: int) -> list[Outcome]:
    return [
        Outcome(id=f"{model}-{text[:8]}-{i}", prompt=text, model=model, score=0.0, input_tokens=20, output_tokens=50)
        for i in range(n)
    ]


def test_a_repeated_query_reuses_its_neighbourhood_until_a_write(store, pool, embedder, monkeypatch):
    router = _router(store, pool, embedder)
    searches: list[int] = []
    search = store.nearest
    monkeypatch.setattr(store, "nearest", lambda e, k: searches.append(k) or search(e, k))
    first = router.route(GREET[0], alpha=0.0)
    again = router.route(GREET[0], alpha=0.0)
    assert len(searches) == 1 and again.estimates == first.estimates
    router.record(_fail("small", GREET[0], 6))  # this router's own write: the next route sees it
    after = router.route(GREET[0], alpha=0.0)
    assert len(searches) == 2
    assert after.estimate_for("small").p_correct < first.estimate_for("small").p_correct - 0.1


def test_warm_summary_cache_answers_like_a_fresh_store(store, pool, embedder):
    _router(store, pool, embedder)
    queries = embedder.embed([f"{t} please" for t in MATH[:6] + GREET[:6]])
    for q in queries:  # the same region again and again: the cache warms up
        store.nearest(q, 16)
    assert store._summaries.warm
    fresh = BehaviourStore(store.client, store.name, cache_ttl_s=0.0)
    for q in queries:
        cached, direct = store.nearest(q, 16), fresh.nearest(q, 16)
        assert cached.ids == direct.ids and cached.stats == direct.stats
        assert np.allclose(cached.similarities, direct.similarities) and np.array_equal(cached.tokens, direct.tokens)


def test_other_writers_show_after_the_ttl_own_writes_at_once(store, pool, embedder):
    router = _router(store, pool, embedder)
    reader = BehaviourStore(store.client, store.name, cache_ttl_s=0.5)
    q = embedder.embed([MATH[0]])[0]
    for _ in range(8):
        reader.nearest(q, 1)
    before = reader.nearest(q, 1).stats[0]["small"][0]
    router.record(_fail("small", MATH[0], 3))  # another process's write, as far as `reader` knows
    assert store.nearest(q, 1).stats[0]["small"][0] == before + 3  # the writer's own store: at once
    assert reader.nearest(q, 1).stats[0]["small"][0] == before  # the reader: cached for up to 0.5 s
    time.sleep(0.6)
    assert reader.nearest(q, 1).stats[0]["small"][0] == before + 3
