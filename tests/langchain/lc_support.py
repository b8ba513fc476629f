"""Shared builders for the scope_langchain tests: specs, seeded routers and scripted candidates."""

from __future__ import annotations

from collections.abc import Iterable

from scope_core import BehaviourStore, Capability, ModelSpec, Router, default_embedder
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel

from ..conftest import record_scores

TOOLS = frozenset({Capability.TOOLS, Capability.STRUCTURED_OUTPUT})
CHEAP = ModelSpec(name="cheap", input_price=0.1, output_price=0.4, capabilities=TOOLS, provider="scripted")
STRONG = ModelSpec(name="strong", input_price=5.0, output_price=15.0, capabilities=TOOLS, provider="scripted")
PLAIN = ModelSpec(name="plain", input_price=0.05, output_price=0.1)  # no tool calling

HARD = [
    "Compute the definite integral of x^3 * sin(x) from 0 to pi, step by step.",
    "Prove that the square root of 2 is irrational.",
    "Solve the differential equation y'' + 4y = sin(2x).",
    "Find all eigenvalues of the matrix [[2, 1], [1, 3]] and their eigenvectors.",
    "Integrate e^x cos(x) dx and verify the antiderivative.",
    "How many primes are there below 10,000? Explain the estimate.",
]
EASY = [
    "Hi there! How are you doing today?",
    "Hello, good morning to you.",
    "Say hi to my friend Tom.",
    "Thanks a lot, have a nice day!",
    "Hey, what's up?",
    "Good evening! Nice to meet you.",
]
HARD_QUERY = "Evaluate the integral of x^2 * cos(x) from 0 to pi and show each step."
EASY_QUERY = "Hello! How is your day going?"


def new_router() -> Router:
    return Router(BehaviourStore.ephemeral(), embedder=default_embedder())


def seed(router: Router, texts: Iterable[str], scores: dict[str, float], specs: Iterable[ModelSpec]) -> None:
    """Register the specs and record each model's score on each text."""
    for spec in specs:
        router.register_model(spec)
    record_scores(router, texts, scores, input_tokens=40, output_tokens=200)


def seeded_router() -> Router:
    """Hard maths: only 'strong' succeeds; small talk: both succeed."""
    router = new_router()
    seed(router, HARD, {"cheap": 0.0, "strong": 1.0}, [CHEAP, STRONG])
    seed(router, EASY, {"cheap": 1.0, "strong": 1.0}, [CHEAP, STRONG])
    return router


def scripted(*specs: ModelSpec, **kwargs) -> dict[str, tuple[ScriptedChatModel, ModelSpec]]:
    return {s.name: (ScriptedChatModel(model=s.name, **kwargs), s) for s in specs}


def scope_model(router: Router, *specs: ModelSpec, **kwargs) -> ScopeChatModel:
    return ScopeChatModel(candidates=scripted(*(specs or (CHEAP, STRONG))), router=router, **kwargs)


def fake(model: ScopeChatModel, name: str) -> ScriptedChatModel:
    return next(c.model for c in model.candidates if c.name == name)
