"""Model priors stay exact when a write reaches a real server but its reply never comes back.

The fault is real: the write is made on a `chroma run` server, then the server is killed (SIGKILL)
before the client hears back, as a stall or crash does to a write in flight; the client sees the
store unavailable, the write stays in the journal, and is replayed once the server is back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scope_core import BehaviourStore, ModelSpec, Outcome, Router
from scope_core.store import summary as sm
from scope_core.store.guard import StoreGuard

from .chroma_server import ChromaServer
from .test_store_server import letter_counts

pytestmark = pytest.mark.server


class ReplyLost(StoreGuard):
    """A guard whose armed call runs on the server, after which the server is killed and the reply lost."""

    def __init__(self, server: ChromaServer) -> None:
        super().__init__(server.url, retry_s=0.2)
        self.server, self.target = server, ""

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = super().call(fn, *args, **kwargs)
        where = f"{getattr(getattr(fn, '__self__', None), 'name', '')}.{getattr(fn, '__name__', '')}"
        if self.target and where.endswith(self.target):
            self.target = ""
            self.server.kill()
            raise self._failed(TimeoutError("the reply was lost: the server died after the write"))
        return result


def exact_priors(store: BehaviourStore) -> bool:
    """Every model's prior equals its recomputation from the outcome records."""
    folded: dict[str, sm.Summary] = {}
    for per_model in sm.fold(store.all_outcomes()).values():
        sm.merge(folded, per_model)
    return all(
        all(abs(a - b) <= 1e-6 for a, b in zip(prior, folded.get(m, sm.empty()), strict=True))
        for m, prior in store.priors().items()
    )


def _router(server: ChromaServer, tmp_path) -> tuple[Router, ReplyLost]:
    guard = ReplyLost(server)
    store = BehaviourStore(None, "exact", location=server.url, guard=guard, timeout_s=1.0)
    router = Router(store, embedder=letter_counts, journal=tmp_path / "journal.sqlite", cache_ttl_s=0.0)
    router.register_model(ModelSpec(name="m", input_price=1, output_price=2))
    router.record([Outcome(prompt=f"seed prompt {c}", model="m", score=1.0) for c in "abc"])
    return router, guard


def _back(server: ChromaServer, router: Router) -> None:
    server.start()  # the writer replays the journal once the server answers
    router.flush(timeout=10)
    assert router.journal.pending() == 0


@pytest.mark.parametrize("lost", ["exact-outcomes.add", "exact-models.upsert", "exact-prompts.add"])
def test_an_outcome_write_whose_reply_is_lost_is_counted_once(server, tmp_path, lost):
    router, guard = _router(server, tmp_path)
    guard.target = lost  # the outcome records, the writer's prior delta, or the new prompt records
    batch = [Outcome(prompt=f"lost reply {c}", model="m", score=0.0, input_tokens=3, output_tokens=4) for c in "xyz"]
    assert router.record(batch) == 0  # journaled: the store looked unavailable
    assert router.journal.pending() == 1
    _back(server, router)
    assert router.store.count_outcomes() == 6
    assert router.store.priors()["m"][: sm.N_USAGE] == [6.0, 3.0]
    assert exact_priors(router.store) and router.store.rebuild_summaries() == 0


@pytest.mark.parametrize("lost", ["exact-outcomes.update", "exact-models.upsert"])
def test_a_score_whose_reply_is_lost_is_counted_once(server, tmp_path, lost):
    router, guard = _router(server, tmp_path)
    router.record(Outcome(id="run-1", prompt="scored later", model="m"))
    guard.target = lost
    router.feedback("run-1", 1.0)
    assert router.journal.pending() == 1
    _back(server, router)
    assert router.store.outcome("run-1")["s"] == 1.0
    assert router.store.priors()["m"][: sm.N_USAGE] == [4.0, 4.0]
    assert exact_priors(router.store)
