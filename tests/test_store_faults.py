"""Store faults on a real `chroma run` server: killed, stalled, restarted. No model call fails because of the store."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scope_core import BehaviourStore, Candidate, ModelSpec, Outcome, Router
from scope_core.errors import StorePendingError, StoreUnavailableError
from scope_core.routing.call import Usage
from scope_core.store.journal import Journal
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel

from .test_exact_priors import exact_priors
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


def test_killed_server_routes_degraded_and_everything_is_stored_once_it_is_back_without_traffic(
    server, tmp_path, caplog
):
    router = _seeded(server.url, tmp_path)
    before = router.store.count_outcomes()
    server.kill()
    caplog.set_level(logging.WARNING, logger="scope_core")
    for i in range(20):
        call = router.start(f"Translate sentence number {i} into German", alpha=1.0, run_id=f"out-{i}")
        assert call.decision.degraded and call.decision.chosen == "dear"  # the last priors seen still rank the models
        attempt, _ = call.run(lambda attempt: "Übersetzung")
        call.succeeded(attempt, Usage(10, 5))
        router.feedback(f"out-{i}", 1.0, wait=False)
    with pytest.raises(StorePendingError, match="40 write") as pending:
        router.flush(timeout=0.5)
    assert pending.value.pending == 40 and router.status().waiting == 40 and router.status().store == "unavailable"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "unavailable" in r.getMessage()]
    assert len(warnings) == 1, "one warning per outage"
    with pytest.raises(StoreUnavailableError, match="unavailable"):
        router.store.count_outcomes()

    server.start()  # and no traffic: the writer replays the journal on its own
    deadline = time.monotonic() + 30
    while router.journal.pending() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert router.journal.pending() == 0 and router.status().ok
    assert router.store.count_outcomes() == before + 20
    assert len(router.store.decisions.records([f"out-{i}" for i in range(20)])) == 20  # decisions sent = logged
    assert {r.run_id: r.score for r in router.history()} == {f"out-{i}": 1.0 for i in range(20)}
    assert _scored(router) == {"cheap": 6.0, "dear": 26.0} and exact_priors(router.store)
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
    assert router.journal.pending() == 3  # the failure, the answer (with the decision), the score
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


def test_a_process_that_starts_while_the_server_is_down_still_answers(server, tmp_path):
    _seeded(server.url, tmp_path).journal.close()  # an earlier process routed: the registry snapshot is on disk
    server.kill()
    started = time.perf_counter()
    router = _router(server.url, tmp_path)  # the same journal, hence the same snapshot
    assert time.perf_counter() - started < 3.0
    assert router.status().registry == "snapshot" and router.status().store == "unavailable"
    decision = router.route("Translate sentence number 9 into Danish", alpha=1.0)
    assert decision.degraded and decision.chosen == "dear"  # the snapshot's priors rank the models
    pool = [Candidate(model=ScriptedChatModel(model=m), spec=router.models()[m]) for m in MODELS]
    answer = ScopeChatModel(candidates=pool, router=router, alpha=1.0).invoke("Translate this into Danish")
    assert answer.response_metadata["scope"]["degraded"] and answer.response_metadata["scope"]["model"] == "dear"

    blank = _router(server.url, tmp_path, journal_path=tmp_path / "fresh.sqlite")  # no snapshot: the candidates' specs
    specs = [
        ModelSpec(name="local-a", input_price=0.1, output_price=0.1),
        ModelSpec(name="local-b", input_price=1, output_price=1),
    ]
    chat = ScopeChatModel(
        candidates=[Candidate(model=ScriptedChatModel(model=s.name), spec=s) for s in specs], router=blank
    )
    assert blank.status().registry == "registered here"
    assert chat.invoke("Anything").response_metadata["scope"]["model"] in ("local-a", "local-b")
    server.start()
    blank.flush(timeout=10)  # the registrations first, then the outcome
    assert {"local-a", "local-b"} <= set(BehaviourStore.open(server.url, name="faults").models())


def test_a_process_that_starts_while_the_server_is_stalled_waits_one_timeout_then_routes(server, tmp_path):
    _seeded(server.url, tmp_path).journal.close()
    server.stall()
    try:
        started = time.perf_counter()
        router = _router(server.url, tmp_path)
        opened_s = time.perf_counter() - started
        decision = router.route("Translate sentence number 3 into Finnish")
    finally:
        server.resume()
    assert opened_s < 3.0, f"opening took {opened_s:.1f} s with a 1 s timeout"
    assert decision.degraded and router.status().registry == "snapshot"


def test_a_server_stores_journal_is_its_owners_alone(server, tmp_path):
    router = _seeded(server.url, tmp_path)
    journal = router.journal.path
    files = [journal, *journal.parent.glob(f"{journal.stem}*")]
    assert all(stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600) for p in files), files
    assert stat.S_IMODE(Path(os.environ["SCOPE_JOURNAL_DIR"]).stat().st_mode) == 0o700


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
