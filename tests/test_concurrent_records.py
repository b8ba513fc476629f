"""Concurrent ``record`` calls on one router: writes that wait drain each other's entries in one store batch,
yet every caller gets its own result (its count, or its own error) and the priors stay exact."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from scope_core import BehaviourStore, ModelSpec, Outcome, Router
from scope_core.errors import UnknownModelError
from scope_core.store import summary as sm

from .test_exact_priors import exact_priors
from .test_store_server import letter_counts


def test_eight_threads_recording_get_their_own_results(tmp_path):
    store = BehaviourStore.open(str(tmp_path / "store"))
    router = Router(store, embedder=letter_counts, cache_ttl_s=0.0)
    router.register_model(ModelSpec(name="m", input_price=1, output_price=2))

    def write(i: int) -> int | str:
        model = "unregistered" if i == 13 else "m"
        try:
            return router.record(Outcome(prompt=f"thread prompt number {i}", model=model, score=float(i % 2)))
        except UnknownModelError:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(write, range(40)))
    assert results == [1] * 13 + ["refused"] + [1] * 26
    assert store.count_outcomes() == 39 and router.journal.pending() == 0
    assert store.priors()["m"][: sm.N_USAGE] == [39.0, 19.0]
    assert exact_priors(store) and store.rebuild_summaries() == 0
    with pytest.raises(UnknownModelError):
        router.record(Outcome(prompt="one more", model="unregistered"))
