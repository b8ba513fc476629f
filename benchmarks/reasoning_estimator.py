"""The reasoning estimator's whole path over a local stand-in LLM: wall time per decision and its share.

A routerbench-3k subset is ingested into an in-memory store; test prompts are then routed with
``ReasoningEstimator`` whose LLM is ``ChatOpenAI`` (langchain-openai) on a local OpenAI-compatible
stand-in server (``scope_core.estimators.reasoning_local``: a heuristic, not a model, answering
after ``--latency`` seconds per call, to stand for a real SCOPE server's generation time). So every
decision runs the real path: embedding, search, knn, neighbour texts from the store, one SCOPE prompt
per candidate, HTTP calls, parsing, blend, policy.

Reported per configuration (one decision per test prompt, 11 candidates each):
- ``route`` (sync, thread pool) and ``aroute`` (async batch), with concurrency 16;
- ``route`` with concurrency 1 (the candidates one after another), to show what concurrency buys;
- ``route`` again on the same prompts: every estimate from the cache;
- the plain ``knn`` router, for reference.
Wall time per decision (p50 / p90), the estimator's share (``estimate_ms / total_ms``, p50) and the
estimator's own tokens per decision.

Run: .venv/bin/python benchmarks/reasoning_estimator.py [--data ../shared/data/routerbench-3k]
     [--prompts 200] [--decisions 20] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from scope_core import BehaviourStore, Router, default_embedder, load_dataset
from scope_core.estimators import ReasoningEstimator
from scope_core.estimators.reasoning.local import StandInServer
from scope_core.estimators.reasoning.openai_llm import openai_compatible_llm
from scope_core.evaluation.split import sample_prompts, split_prompts


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def _summary(label: str, walls_ms: list[float], decisions: list) -> str:
    shares = [d.timings_ms["estimate_ms"] / d.timings_ms["total_ms"] for d in decisions]
    tokens = statistics.mean(d.estimator_tokens for d in decisions)
    fallbacks = sum(e.fallback is not None for d in decisions for e in d.estimates)
    return (
        f"{label:<34} p50 {_pct(walls_ms, 50):8.1f} ms  p90 {_pct(walls_ms, 90):8.1f} ms  "
        f"estimator share p50 {100 * statistics.median(shares):5.1f}%  tokens/decision {tokens:7.0f}  "
        f"fallbacks {fallbacks}"
    )


def _sync(router: Router, texts: list[str]) -> tuple[list[float], list]:
    walls, decisions = [], []
    for text in texts:
        t = time.perf_counter()
        decisions.append(router.route(text, alpha=0.9))
        walls.append((time.perf_counter() - t) * 1000.0)
    return walls, decisions


async def _async(router: Router, texts: list[str]) -> tuple[list[float], list]:
    walls, decisions = [], []
    for text in texts:
        t = time.perf_counter()
        decisions.append(await router.aroute(text, alpha=0.9))
        walls.append((time.perf_counter() - t) * 1000.0)
    return walls, decisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/routerbench-3k"))
    parser.add_argument("--prompts", type=int, default=200, help="prompts drawn from the data set (half ingested)")
    parser.add_argument("--decisions", type=int, default=20, help="test prompts routed per configuration")
    parser.add_argument("--latency", type=float, default=0.05, help="stand-in server seconds per call")
    parser.add_argument("--no-cot", action="store_true", help="SCOPE_NoCoT prompts (final line only)")
    args = parser.parse_args()

    dataset = sample_prompts(load_dataset(args.data), args.prompts, seed=0)
    train_ids, test_ids = split_prompts(dataset, 0.5, seed=0)
    texts = {p.id: p.text for p in dataset.prompts}
    test = [texts[i] for i in test_ids[: args.decisions]]
    store = BehaviourStore.ephemeral()
    embedder = default_embedder(disk_cache=True)
    try:
        knn = Router(store, embedder=embedder, cache_ttl_s=3600.0)
        knn.ingest(dataset.subset(train_ids), progress=False)
        print(f"{dataset.name}: {len(train_ids)} prompts ingested, {len(dataset.models)} candidates, "
              f"{len(test)} decisions per configuration, stand-in latency {args.latency * 1000:.0f} ms/call")  # fmt: skip
        with StandInServer(latency_s=args.latency) as server:
            llm = openai_compatible_llm(f"{server.url}#Cooolder/SCOPE", no_cot=args.no_cot)

            def router(concurrency: int) -> Router:
                estimator = ReasoningEstimator(llm, max_concurrency=concurrency, no_cot=args.no_cot)
                return Router(store, estimator=estimator, embedder=embedder, cache_ttl_s=3600.0)

            _sync(router(16), test[:2])  # warm-up: embeddings, HTTP connections
            print(_summary("knn (reference)", *_sync(knn, test)))
            reasoning = router(16)
            print(_summary("reasoning route, concurrency 16", *_sync(reasoning, test)))
            print(_summary("reasoning route, cached", *_sync(reasoning, test)))
            print(_summary("reasoning aroute, concurrency 16", *asyncio.run(_async(router(16), test))))
            print(_summary("reasoning route, concurrency 1", *_sync(router(1), test)))
            print(f"stand-in server requests: {server.requests}")
    finally:
        store.drop()


if __name__ == "__main__":
    main()
