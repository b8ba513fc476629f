"""Route with SCOPE's reasoning estimator: Cooolder/SCOPE, served by vLLM, reads each candidate's record on
the query's neighbours and predicts its length and correctness; the router blends that with knn.

Serve the estimator (any OpenAI-compatible server works; SCOPE_NoCoT is the faster variant):

    vllm serve Cooolder/SCOPE --port 8000          # or: vllm serve Cooolder/SCOPE_NoCoT --port 8000

Run (needs langchain-openai: pip install 'scope-router[reasoning]'):

    SCOPE_URL=http://localhost:8000/v1 .venv/bin/python examples/reasoning_estimator_scope.py
    SCOPE_URL=http://localhost:8000/v1 SCOPE_MODEL=Cooolder/SCOPE_NoCoT SCOPE_NO_COT=1 .venv/bin/python examples/...

Without SCOPE_URL it starts a local stand-in server (a heuristic, not the model) so the path runs offline.
"""

import os
from contextlib import nullcontext

from scope_core import BehaviourStore, ModelSpec, Outcome, Router
from scope_core.estimators import ReasoningEstimator
from scope_core.estimators.reasoning.local import StandInServer
from scope_core.estimators.reasoning.openai_llm import openai_compatible_llm

MINI = ModelSpec(name="gpt-4o-mini", input_price=0.15, output_price=0.6)
LARGE = ModelSpec(name="gpt-4o", input_price=2.5, output_price=10.0)
HARD = [f"Prove that {n} is not a sum of two squares, step by step." for n in (3, 7, 11, 19, 23, 31)]
EASY = [f"Say hello to my colleague number {n}." for n in range(6)]
QUERIES = ["Prove that 43 is not a sum of two squares, step by step.", "Say hello to my new colleague."]


def seeded_store() -> BehaviourStore:
    """Past outcomes: only the large model proves things, both say hello."""
    store = BehaviourStore.ephemeral()  # keeps prompt texts: the estimator shows them to SCOPE
    seeder = Router(store)
    for spec in (MINI, LARGE):
        seeder.register_model(spec)
    seeder.record(
        [
            Outcome(prompt=t, model=s.name, score=float(t in EASY or s is LARGE), input_tokens=30,
                    output_tokens=400 if t in HARD else 20, cost_usd=s.cost(30, 400 if t in HARD else 20))
            for t in HARD + EASY
            for s in (MINI, LARGE)
        ]
    )  # fmt: skip
    return store


if __name__ == "__main__":
    url, no_cot = os.environ.get("SCOPE_URL"), bool(os.environ.get("SCOPE_NO_COT"))
    with nullcontext(None) if url else StandInServer() as local:
        base = url or local.url
        llm = openai_compatible_llm(f"{base}#{os.environ.get('SCOPE_MODEL', 'Cooolder/SCOPE')}", no_cot=no_cot)
        store = seeded_store()
        # a self-hosted estimator has no per-token price; set input_price/output_price for a paid one
        router = Router(store, estimator=ReasoningEstimator(llm, no_cot=no_cot, retrieval_weight=0.2))
        print(f"estimator LLM at {base}{' (local stand-in)' if not url else ''}")
        for query in QUERIES:
            decision = router.route(query, alpha=0.8)
            print(f"\n{query!r} -> {decision.chosen}  ({decision.reason})")
            for e in decision.estimates:
                how = e.fallback or f"blended, parse confidence {e.confidence}"
                print(f"  {e.model:<12} p={e.p_correct:.3f}  ~{e.output_tokens:.0f} tokens  ${e.cost_usd:.6f}  [{how}]")
            print(f"  estimator: {decision.estimator_tokens} tokens, ${decision.estimator_cost_usd:.6f}, "
                  f"{decision.timings_ms['estimate_ms']:.0f} ms of {decision.timings_ms['total_ms']:.0f} ms")  # fmt: skip
        store.drop()
