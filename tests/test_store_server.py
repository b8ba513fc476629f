"""The behaviour store on a real `chroma run` server and on disk: shared by processes, durable."""

from __future__ import annotations

import multiprocessing as mp
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import chromadb
import pytest

from scope_core import BehaviourStore, ModelSpec, Outcome, Router

pytestmark = pytest.mark.server
PROMPT = "Which workers wrote to this shared prompt record?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(tmp_path_factory.mktemp("chroma"))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            break
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("chroma server did not start")
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


def letter_counts(texts: list[str]) -> list[list[float]]:
    """A tiny deterministic embedder: worker processes skip loading torch (this test is about storage)."""
    return [[t.lower().count(c) + 0.1 for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts]


def _worker(url: str, model: str, n: int) -> None:
    router = Router.open(url, name="shared", embedder=letter_counts)
    for i in range(n):
        router.record(
            Outcome(
                id=f"{model}-{i}",
                prompt=PROMPT,
                model=model,
                score=float(i % 2),
                input_tokens=10,
                output_tokens=5,
                cost_usd=0.001,
            )
        )


def test_worker_processes_share_one_server_and_lose_no_outcome(server_url):
    lead = Router.open(server_url, name="shared", embedder=letter_counts)
    models = ["alpha-model", "beta-model", "gamma-model"]
    for m in models:
        lead.register_model(ModelSpec(name=m, input_price=1, output_price=2))
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(server_url, m, 6)) for m in models]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0
    assert lead.store.count_outcomes() == 18
    stats = lead.store.nearest(lead.embed_texts([PROMPT])[0], 1).stats[0]
    assert {m: s[0] for m, s in stats.items()} == dict.fromkeys(models, 6.0)
    assert {m: s[1] for m, s in stats.items()} == dict.fromkeys(models, 3.0)
    priors = lead.store.priors()  # each process adds to its own delta record: none loses another's update
    assert {m: (priors[m][0], priors[m][1]) for m in models} == dict.fromkeys(models, (6.0, 3.0))
    decision = Router.open(server_url, name="shared", embedder=letter_counts).route(PROMPT, alpha=1.0)
    assert decision.chosen in models and len(decision.estimates) == 3


def test_persistent_store_survives_reopening(tmp_path, embedder):
    first = Router.open(str(tmp_path), embedder=embedder)
    first.register_model(ModelSpec(name="m", input_price=1, output_price=1))
    first.record(Outcome(prompt="remember me", model="m", score=1.0, input_tokens=1, output_tokens=1, cost_usd=0.0))
    del first
    reopened = BehaviourStore.open(str(tmp_path))
    assert set(reopened.models()) == {"m"} and reopened.count_outcomes() == 1
