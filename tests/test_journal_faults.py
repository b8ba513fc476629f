"""The journal under faults of its own: a full disk (a real 30 MB tmpfs), a stopped peer holding its lock, a file
emptied or damaged while closed, an entry whose apply hits a bug. No model call fails or waits past the bound, no
outcome or decision is lost without being counted, every damaged file is named."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import fault_kit
from benchmarks.fault_kit import fill
from scope_core import ModelSpec, Outcome, Router
from scope_core.routing.call import Usage
from scope_core.store.journal import Journal

from .test_store_server import letter_counts

BOUND_S = 0.5  # journal_wait_s: the longest a call may wait on the journal
SLACK_S = 0.3  # what a call does besides (routing, pricing), on a loaded machine


def _router(folder: Path, **kwargs) -> Router:
    router = Router.open(str(folder), embedder=letter_counts, journal_wait_s=BOUND_S, cache_ttl_s=0.0, **kwargs)
    for name, price in (("cheap", 0.1), ("dear", 5.0)):
        router.register_model(ModelSpec(name=name, input_price=price, output_price=2 * price))
    router.record(
        [Outcome(prompt=f"Seed question {i}", model=m, score=1.0) for i in range(4) for m in ("cheap", "dear")]
    )
    return router


def routed_calls(router: Router, n: int, tag: str) -> list[float]:
    """``n`` routed calls as an adapter makes them (answered, usage reported, scored later); each one's seconds in
    the router's bookkeeping (the call's end and its feedback)."""
    waits = []
    for i in range(n):
        call = router.start(f"Question {tag} number {i} about rivers", run_id=f"{tag}-{i}")
        attempt, _ = call.run(lambda attempt: "an answer")
        started = time.perf_counter()
        call.succeeded(attempt, Usage(12, 7))
        router.feedback(f"{tag}-{i}", 1.0, wait=False)
        waits.append(time.perf_counter() - started)
    return waits


def stored_within(router: Router, run_ids: list[str], seconds: float = 15.0) -> bool:
    """Whether every run's outcome (scored) and decision record are in the store within ``seconds``, no traffic."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            outcomes = [router.store.outcome(r) for r in run_ids]
            logged = router.store.decisions.records(run_ids)
            if all(o is not None and o.get("s") == 1.0 for o in outcomes) and len(logged) == len(run_ids):
                return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def tmpfs(path: Path) -> Iterator[Path]:
    """A real 30 MB tmpfs at ``path`` (``benchmarks.fault_kit.tmpfs``), or the test skipped where none can be mounted."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    with fault_kit.tmpfs(path) as disk:
        if disk is None:
            pytest.skip("cannot mount a tmpfs here")
        yield disk


def test_a_full_disk_loses_no_outcome_and_fails_no_call(tmp_path):
    with tmpfs(tmp_path / "disk") as disk:
        router = _router(disk / "store")
        filler = fill(disk)
        with pytest.raises(OSError):
            (disk / "one-more").write_bytes(b"x" * 4096)
        waits = routed_calls(router, 3, "full")
        outcome = router.record_call(router.route("Is the disk full?"), "Is the disk full?", "cheap", output_tokens=3)
        status = router.status()
        assert max(waits) < BOUND_S + SLACK_S, f"a call waited {max(waits):.2f} s on the bookkeeping"
        assert status.in_memory >= 7 and status.dropped == 0, status  # 3 outcomes, 3 scores, 1 outcome in memory
        filler.unlink()  # room again: no traffic, the writer stores them on its own
        assert stored_within(router, [f"full-{i}" for i in range(3)])
        router.flush(timeout=5)
        assert router.store.outcome(outcome.id) is not None and router.status().ok


_HOLD_LOCK = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # the journal's write lock, as a peer mid-append holds it
print("locked", flush=True)
os.kill(os.getpid(), signal.SIGSTOP)
"""


def test_a_stopped_peer_holding_the_journal_lock_delays_no_call_and_loses_nothing(tmp_path):
    router = _router(tmp_path / "store")
    peer = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(router.journal.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert peer.stdout.readline().strip() == "locked"
        waits = routed_calls(router, 5, "peer")
        assert max(waits) < BOUND_S + SLACK_S, f"a call waited {max(waits):.2f} s on the bookkeeping"
        assert router.status().in_memory == 10  # 5 outcomes with their decisions, 5 scores
        opened = Router.open(str(tmp_path / "store"), embedder=letter_counts, journal=tmp_path / "other.sqlite")
        assert opened.route("A process opening meanwhile still routes").chosen in ("cheap", "dear")
    finally:
        peer.send_signal(signal.SIGKILL)  # the peer dies: its lock goes with it
        peer.wait(timeout=20)
    assert stored_within(router, [f"peer-{i}" for i in range(5)])
    deadline = time.monotonic() + 10  # the journal lets go of its entries just after the store holds them
    while not router.status().ok and time.monotonic() < deadline:
        time.sleep(0.1)
    assert router.status().ok, str(router.status())


def test_a_journal_emptied_while_closed_is_named_with_what_it_held(tmp_path, caplog):
    journal = tmp_path / "journal.sqlite"
    first = Journal(journal)
    for i in range(20):
        first.append("outcomes", {"outcomes": [], "prompts": {}, "n": i})
    first.close()
    journal.write_bytes(b"")  # truncated to 0 bytes while no process had it open
    caplog.set_level(logging.WARNING, logger="scope_core")
    router = _router(tmp_path / "store", journal=journal)
    [problem] = router.status().problems
    assert str(journal) in problem and "0 bytes" in problem and "20 of the 20 entries" in problem
    assert "re-record" in problem and problem in caplog.text
    assert router.journal.pending() == 0 and router.route("Still routing?").chosen


@pytest.mark.parametrize("damage", ["garbage", "torn"])
def test_a_damaged_journal_is_set_aside_named_and_routing_goes_on(tmp_path, damage):
    store = tmp_path / "store"
    router = _router(store)
    path = router.journal.path
    router.journal.close()
    if damage == "garbage":
        path.write_bytes(os.urandom(16384))
    else:  # the entries table's page overwritten: the file opens, reading it fails
        with open(path, "r+b") as f:
            f.seek(4096)
            f.write(os.urandom(4096))
    reopened = Router.open(str(store), embedder=letter_counts)
    problems = reopened.status().problems
    assert len(problems) == 1 and str(path) in problems[0] and "moved to" in problems[0]
    assert list(store.glob(f"{path.name}.damaged-*")), "the damaged file is kept aside"
    decision = reopened.route("Does routing go on?")
    reopened.record_call(decision, "Does routing go on?", decision.chosen, output_tokens=4, run_id="after")
    assert reopened.store.outcome("after") is not None


def test_an_entry_whose_apply_hits_a_bug_is_held_and_counted_and_the_others_are_stored(tmp_path, monkeypatch):
    router = _router(tmp_path / "store")
    real = router.store.add_ids

    def buggy(outcomes, *args, **kwargs):
        if any(o.id == "bug-2" for o in outcomes):
            raise AttributeError("'NoneType' object has no attribute 'embedding'")
        return real(outcomes, *args, **kwargs)

    monkeypatch.setattr(router.store, "add_ids", buggy)
    routed_calls(router, 4, "bug")
    router.flush(timeout=5)
    assert [router.store.outcome(f"bug-{i}") is not None for i in range(4)] == [True, True, False, True]
    status = router.status()
    assert status.held == 2 and not status.ok  # the outcome, and its score that came after it
    monkeypatch.setattr(router.store, "add_ids", real)  # the bug fixed
    router.replay_journal()
    assert router.store.outcome("bug-2")["s"] == 1.0 and router.status().held == 0
