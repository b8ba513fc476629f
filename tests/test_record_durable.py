"""``record_call(..., wait=False)`` loses nothing, not even to ``kill -9`` right after it returned.

A child process records outcomes with ``wait=False`` while the real `chroma run` server is stalled
(so none can have reached the store), then SIGKILLs itself; a new process opening the store stores
every one of them exactly once, with exact priors.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scope_core import BehaviourStore, ModelSpec, Outcome, Router
from scope_core.store import summary as sm
from scope_core.store.journal import Journal

from .test_exact_priors import exact_priors
from .test_store_server import letter_counts

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[1]
N = 40
_OPEN = (
    "import sys\nfrom scope_core import Router\nfrom tests.test_store_server import letter_counts\n"
    "router = Router.open({url!r}, name='durable', embedder=letter_counts, journal={journal!r}, cache_ttl_s=60.0)\n"
)
_RECORD_THEN_KILL = (
    _OPEN
    + """import os, signal
decision = router.route("Which prompt was recorded before the kill?")
print("ready", flush=True)
sys.stdin.readline()  # the server is stalled now
for i in range({n}):
    router.record_call(decision, f"durable prompt {{i}}", "m", score=float(i % 2), run_id=f"d-{{i}}", wait=False)
print("accepted", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
)
_REOPEN = _OPEN + "router.flush()\nprint(router.journal.pending(), flush=True)\n"


def _python(script: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, **kwargs
    )


def test_outcomes_accepted_with_wait_false_survive_sigkill(server, tmp_path):
    journal = str(tmp_path / "journal.sqlite")
    lead = Router.open(server.url, name="durable", embedder=letter_counts, journal=tmp_path / "lead.sqlite")
    lead.register_model(ModelSpec(name="m", input_price=1, output_price=2))
    lead.record(Outcome(prompt="a seed prompt", model="m", score=1.0))
    child = _python(_RECORD_THEN_KILL.format(url=server.url, journal=journal, n=N))
    try:
        assert child.stdout.readline().strip() == "ready"
        server.stall()
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "accepted"
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        child.kill()
        server.resume()
    assert Journal(Path(journal)).pending() == N  # accepted, none stored: all on disk
    reopened = _python(_REOPEN.format(url=server.url, journal=journal))
    out, _ = reopened.communicate(timeout=120)
    assert out.strip() == "0"  # the new process stored the dead one's entries
    store = BehaviourStore.open(server.url, name="durable")
    assert store.count_outcomes() == 1 + N
    assert all(store.outcome(f"d-{i}")["s"] == float(i % 2) for i in range(N))
    assert store.priors()["m"][: sm.N_USAGE] == [1.0 + N, 1.0 + N // 2]
    assert exact_priors(store) and store.rebuild_summaries() == 0
