"""Shared setup of the offline LangChain examples: two scripted candidates and a small seeded store."""

from scope_core import BehaviourStore, Capability, ModelSpec, Outcome, Router
from scope_langchain import Candidate
from scope_langchain.testing import ScriptedChatModel

CAPS = frozenset({Capability.TOOLS, Capability.STRUCTURED_OUTPUT})
MINI = ModelSpec(name="mini", input_price=0.15, output_price=0.6, capabilities=CAPS, provider="scripted")
LARGE = ModelSpec(name="large", input_price=2.5, output_price=10.0, capabilities=CAPS, provider="scripted")

HARD = ["Prove that there are infinitely many primes.", "Solve x^2 - 5x + 6 = 0 and check both roots."]
EASY = ["Say hello to Ann.", "Thank you, goodbye!"]


def candidates() -> list[Candidate]:
    """Scripted stand-ins; in real use: Candidate(model=ChatOpenAI(model="gpt-4o-mini"), spec=MINI)."""
    return [Candidate(model=ScriptedChatModel(model=s.name), spec=s) for s in (MINI, LARGE)]


def seeded_router() -> Router:
    """An in-memory store where only 'large' solves maths and both handle small talk."""
    router = Router(BehaviourStore.ephemeral())
    for spec in (MINI, LARGE):
        router.register_model(spec)
    router.record(
        [
            Outcome(
                prompt=t,
                model=s.name,
                score=float(t in EASY or s is LARGE),
                input_tokens=30,
                output_tokens=150,
                cost_usd=s.cost(30, 150),
            )
            for t in HARD + EASY
            for s in (MINI, LARGE)
        ]
    )
    return router
