"""Store faults on a real `chroma run` server: killed, stalled, restarted. No model call fails because of the store."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scope_core import ModelSpec, Outcome, Router
from scope_core.errors import StorePendingError, StoreUnavailableError
from scope_core.routing.call import Usage
from scope_core.store.journal import Journal

from .chroma_server import ChromaServer
from .test_store_server import letter_counts

pytestmark = pytest.mark.server
MODELS = ("cheap", "dear")
SEEN = [f"Translate sentence number {i} into French" for i in range(6)]


def _router(url: str, tmp_path, journal_path: str | None = None, **kwargs) -> Router:
    journal = journal_path or tmp_path / "journal.sqlite"
    return Router.open(
        url, name="faults", embedder=letter_counts, journal=journal, timeout_s=1.0, retry_s=0.2, **kwargs
    )


def _seeded(url: str, tmp_path) -> Router:
    router = _router(url, tmp_path, cache_ttl_s=0.0)
    router.register_model(ModelSpec(name="cheap", input_price=0.1, output_price=0.2))
    router.register_model(ModelSpec(name="dear", input_price=5, output_price=15))
    router.record(
        [
            Outcome(
                prompt=t, model=m, score=1.0 if m == "dear" else 0.0, input_tokens=10, output_tokens=5, cost_usd=0.001
            )
            for t in SEEN
            for m in MODELS
        ]
    )
    router.route(SEEN[0])  # a process that has been routing: it saw the registry and priors
    return router


def _scored(router: Router) -> dict[str, float]:
    return {m: s[0] for m, s in router.store.priors().items()}


def test_killed_server_routes_degraded_journals_outcomes_and_replays_them_once(server, tmp_path, caplog):
    router = _seeded(server.url, tmp_path)
    before = router.store.count_outcomes()
    server.kill()
    caplog.set_level(logging.WARNING, logger="scope_core")
    sent = []
    for i in range(20):
        decision = router.route(f"Translate sentence number {i} into German", alpha=1.0)
        assert decision.degraded and decision.chosen == "dear"  # the last priors seen still rank the models
        sent.append(
            router.record_call(
                decision,
                f"outage prompt {'bdfhjkmqvwxyz'[i % 13] * (1 + i // 13)}",
                decision.chosen,
                score=1.0,
                wait=False,
            )
        )
    with pytest.raises(StorePendingError, match="20 write") as pending:
        router.flush(timeout=0.5)
    assert pending.value.pending == 20 and router.status().waiting == 20
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "unavailable" in r.getMessage()]
    assert len(warnings) == 1, "one warning per outage"
    assert router.journal.pending() == 20
    with pytest.raises(StoreUnavailableError, match="unavailable"):
        router.store.count_outcomes()

    server.start()  # no traffic: the writer replays the journal on its own
    deadline = time.monotonic() + 10
    while router.journal.pending() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert router.journal.pending() == 0 and router.status().ok
    assert router.replay_journal() == 0
    assert router.store.count_outcomes() == before + 20
    assert _scored(router) == {"cheap": 6.0, "dear": 26.0}
    summary = router.store.nearest(router.embed_texts(["outage prompt h"])[0], 1)
    assert summary.ids[0] == sent[3].prompt_hash and summary.stats[0]["dear"][0] == 1.0
    assert not router.route("Translate sentence number 2 into French").degraded


def test_a_routed_call_answers_through_a_candidate_while_the_server_is_down(server, tmp_path):
    _seeded(server.url, tmp_path).journal.close()
    router = _router(server.url, tmp_path, store_prompts=False)
    router.route(SEEN[1])
    server.kill()
    secret = "Translate my password hunter2 into Dutch"
    call = router.start(secret, pool=MODELS, run_id="run-1")
    answered = []
    for attempt in call:
        if attempt.index == 0:
            call.failed(attempt, RuntimeError("provider 503, Authorization: Bearer sk-abcdefghijklmnop"))
            continue
        answered.append(call.succeeded(attempt, Usage(12, 4)))
        break
    assert call.decision.degraded and answered and answered[0]["model"] in MODELS
    router.feedback("run-1", 1.0)
    assert router.journal.pending() == 3  # the failure, the answer, the score
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("journal.sqlite*"))
    assert b"hunter2" not in on_disk, "store_prompts=False: no prompt text in the journal"
    server.start()
    router.flush()
    answer = router.store.outcome("run-1")
    assert answer is not None and answer["s"] == 1.0
    failure = router.store.outcome(f"run-1:{call.decision.ranking[0]}:failed")
    assert failure is not None and "sk-abc" not in failure["err"] and "[REDACTED]" in failure["err"]
    assert not any("hunter2" in t for t in router.store.prompt_texts().values())


def test_a_stalled_server_costs_one_timeout_then_routes_fail_fast(server, tmp_path):
    router = _seeded(server.url, tmp_path)
    server.stall()
    try:
        started = time.perf_counter()
        first = router.route("Translate sentence number 1 into Italian")
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(5):
            assert router.route(f"Translate sentence number {i} into Greek").degraded
        rest_s = time.perf_counter() - started
    finally:
        server.resume()
    assert first.degraded and first_s < 3.0, f"one route took {first_s:.1f} s with a 1 s timeout"
    assert rest_s < 1.5


def test_an_unreachable_server_raises_the_library_error_at_once(tmp_path):
    dead = ChromaServer(tmp_path)  # never started: nothing listens on its port
    started = time.perf_counter()
    with pytest.raises(StoreUnavailableError, match="unavailable"):
        _router(dead.url, tmp_path)
    assert time.perf_counter() - started < 3.0


_RECORD_THEN_DIE = """
import sys
from scope_core import Router
from tests.test_store_server import letter_counts
router = Router.open({url!r}, name="faults", embedder=letter_counts, journal={journal!r}, timeout_s=1.0, retry_s=0.2)
print("ready", flush=True)
sys.stdin.readline()  # the server is killed now
decision = router.route("Translate sentence number 4 into Czech")
for i in range(5):
    router.record_call(decision, f"died with prompt {{i}}", "dear", score=1.0, run_id=f"dead-{{i}}")
print("recorded" if decision.degraded else "not degraded", flush=True)
sys.stdin.readline()  # killed with SIGKILL while waiting here
"""


def test_journal_left_by_a_killed_process_is_replayed_by_the_next_one(server, tmp_path):
    router = _seeded(server.url, tmp_path)
    before = router.store.count_outcomes()
    journal = str(tmp_path / "child-journal.sqlite")
    child = subprocess.Popen(
        [sys.executable, "-c", _RECORD_THEN_DIE.format(url=server.url, journal=journal)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        server.kill()
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "recorded"
    finally:
        child.kill()  # SIGKILL: no atexit, no flush
        child.wait(timeout=20)
    assert Journal(Path(journal)).pending() == 5
    server.start()
    reopened = _router(server.url, tmp_path, journal_path=journal)
    reopened.flush()  # the new process replays the journal at open
    assert Journal(Path(journal)).pending() == 0
    assert reopened.store.count_outcomes() == before + 5
    assert _scored(reopened)["dear"] == 6.0 + 5.0
