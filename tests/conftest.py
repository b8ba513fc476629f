"""Shared fixtures: a real MiniLM embedder, fresh ephemeral Chroma stores, a small model pool."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("SCOPE_JOURNAL_DIR", tempfile.mkdtemp(prefix="scope-journal-"))

from scope_core import BehaviourStore, Capability, ModelSpec, Outcome, Router, default_embedder

from .chroma_server import ChromaServer

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def embedder():
    return default_embedder()


@pytest.fixture
def store():
    s = BehaviourStore.ephemeral()
    yield s
    s.drop()


@pytest.fixture
def server(tmp_path) -> Iterator[ChromaServer]:
    """A real `chroma run` server on a free loopback port, for this test only."""
    srv = ChromaServer(tmp_path / "chroma")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def pool() -> list[ModelSpec]:
    """A cheap weak model, a mid model, and a dear strong model with tools."""
    return [
        ModelSpec(name="small", input_price=0.1, output_price=0.2),
        ModelSpec(name="medium", input_price=1.0, output_price=2.0, capabilities=frozenset({Capability.TOOLS})),
        ModelSpec(name="large", input_price=10.0, output_price=30.0, capabilities=frozenset({Capability.TOOLS})),
    ]


MATH = [f"Compute the integral of x^{n} times sin(x) from 0 to pi" for n in range(2, 14)]
GREET = [f"Say hello to my friend number {n} in a cheerful tone" for n in range(2, 14)]


def record_scores(
    router: Router, texts: Iterable[str], scores: dict[str, float], input_tokens: int = 20, output_tokens: int = 50
) -> None:
    """Store past outcomes of registered models: on each text, model -> score (with usage, so costs are known)."""
    specs = router.models()
    router.record(
        [
            Outcome(
                prompt=t,
                model=m,
                score=score,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=specs[m].cost(input_tokens, output_tokens),
                source="fixture",
            )
            for t in texts
            for m, score in scores.items()
        ]
    )


def seed_outcomes(router: Router, specs: list[ModelSpec]) -> None:
    """Math prompts: only 'large' is right; greetings: everyone is right."""
    record_scores(router, MATH, {s.name: float(s.name == "large") for s in specs})
    record_scores(router, GREET, {s.name: 1.0 for s in specs})


@pytest.fixture
def router(store, pool, embedder) -> Router:
    r = Router(store, embedder=embedder, cache_ttl_s=0.0)
    for spec in pool:
        r.register_model(spec)
    seed_outcomes(r, pool)
    return r


def data_path(name: str) -> Path:
    path = DATA_DIR / name
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    return path
