"""Routing overhead and ingest speed of scope_core on this machine.

Routing: a persistent store of 100k prompts x 14 models; each route embeds a new query with the real
MiniLM (no cache), runs one unfiltered k-NN query, estimates every model and applies the policy.
The store's vectors are prompt-like by default: the ~15k real prompts of ../shared/data embedded as
the store would, plus jittered copies of them up to 100k (``--vectors random``: uniform on the sphere,
which has no neighbourhood structure and is HNSW's worst case). The records are written in their
final form (packed per-model summaries) to skip 1.4M outcome writes, under $SCOPE_BENCH (default
~/.cache/scope-router/bench), so later runs reuse them.
Reported three ways: a query in a region nobody routed lately (every neighbour's record read from
Chroma), a new query in a region routed within the cache TTL (the default store reuses those records),
and a repeated query (the router reuses its neighbourhood). Then the embedding alone, ONNX against
torch, as a yardstick for how busy this shared machine was during the run.
Ingest: routerbench-3k into a fresh embedded store, with and without embedding time.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/routing_speed.py [--prompts 100000] [--k 128] [--vectors prompts]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scope_core import (
    BehaviourStore,
    Embedder,
    ModelSpec,
    Router,
    SentenceTransformerEmbedder,
    default_embedder,
    load_dataset,
)
from scope_core.estimators.knn.settings import KNNFit
from scope_core.routing.router import DEFAULT_K
from scope_core.store import summary as sm
from scope_core.store.records import PromptInfo

MODELS = [ModelSpec(name=f"model-{i:02d}", input_price=0.1 * (i + 1), output_price=0.3 * (i + 1)) for i in range(14)]
QUERIES = [
    f"Question {i}: how would you {v} a {n} in under {i % 9 + 2} steps?"
    for i, (v, n) in enumerate(
        (v, n)
        for v in ("design", "debug", "explain", "price", "test", "sort", "summarise", "translate")
        for n in ("binary tree", "tax form", "poem", "SQL query", "contract", "recipe", "proof", "REST API")
    )
]


def prompt_like_vectors(n: int, data_root: Path, rng: np.random.Generator) -> np.ndarray:
    """n vectors shaped like stored prompts: the real prompts of every data set under ``data_root``
    (embedded as the store would, disk-cached), then jittered copies of them (cosine ~0.86 to the original)."""
    router = Router(BehaviourStore.ephemeral(), embedder=default_embedder(disk_cache=True))
    texts = [p.text for folder in sorted(data_root.iterdir()) if folder.is_dir() for p in load_dataset(folder).prompts]
    real = router.embed_texts(texts)
    picks = real[rng.integers(len(real), size=n - len(real))] if n > len(real) else real[:0]
    jittered = picks + rng.normal(scale=0.03, size=picks.shape).astype(np.float32)
    vectors = np.vstack([real[:n], jittered])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build_store(path: Path, n: int, dim: int, vectors: str, data_root: Path, seed: int = 0) -> BehaviourStore:
    """The benchmark store: ``vectors`` "prompts" (real prompt embeddings and jittered copies) or
    "random" (uniform on the sphere: no structure, HNSW's worst case)."""
    store = BehaviourStore.open(str(path), name="bench")
    if store.count_prompts() >= n:
        return store
    for spec in MODELS:
        store.put_model(spec)
    rng = np.random.default_rng(seed)
    if vectors == "prompts":
        pool = prompt_like_vectors(n, data_root, rng)
    else:
        pool = rng.normal(size=(n, dim)).astype(np.float32)
        pool /= np.linalg.norm(pool, axis=1, keepdims=True)
    directions = rng.normal(size=(len(MODELS), pool.shape[1]))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    start = store.count_prompts()
    for lo in tqdm(range(start, n, 2000), desc=f"building {n:,}-prompt store", unit="batch"):
        hi = min(lo + 2000, n)
        vectors = pool[lo:hi]
        infos = [PromptInfo(f"p{i:07d}", v, 60) for i, v in zip(range(lo, hi), vectors, strict=True)]
        store._add_prompts(infos)
        # P(correct) varies with the prompt's region, as real outcomes do, so the fit finds neighbour signal
        p_correct = np.clip(0.5 + 0.03 * np.arange(len(MODELS)) + 0.3 * np.tanh(4 * vectors @ directions.T), 0.0, 1.0)
        scores = rng.random(p_correct.shape) < p_correct
        stats = [
            {m.name: [1, float(row[j]), 1, 200, 60, m.cost(60, 200)] for j, m in enumerate(MODELS)} for row in scores
        ]
        store._prompts.update(ids=[p.hash for p in infos], metadatas=[{"stats": sm.dumps(s)} for s in stats])
        totals: dict[str, sm.Summary] = {}
        for per_model in stats:
            sm.merge(totals, per_model)
        store.writer_priors.add(totals)  # the model priors count these outcomes, as an ingest's would
    return store


def percentiles(samples: list[float]) -> str:
    a = np.asarray(samples)
    return f"p50 {np.percentile(a, 50):6.2f} ms  p99 {np.percentile(a, 99):6.2f} ms  (n={a.size})"


def timed_routes(router: Router, texts: list[str]) -> tuple[list[float], dict[str, list[float]]]:
    totals, parts = [], {"embed_ms": [], "search_ms": [], "estimate_ms": [], "policy_ms": []}
    for text in texts:
        t = time.perf_counter()
        d = router.route(text, alpha=0.7)
        totals.append((time.perf_counter() - t) * 1000)
        for key in parts:
            parts[key].append(d.timings_ms[key])
    return totals, parts


def report(label: str, totals: list[float], parts: dict[str, list[float]]) -> None:
    print(f"{label}: {percentiles(totals)}")
    print("    " + "  ".join(f"{key[:-3]} {np.median(values):5.2f}" for key, values in parts.items()) + " (p50 ms)")


def bench_routing(n_prompts: int, k: int, vectors: str, data_root: Path) -> None:
    embedder = default_embedder()
    bench_dir = Path(os.environ.get("SCOPE_BENCH", Path.home() / ".cache" / "scope-router" / "bench"))
    folder = bench_dir / f"store-{n_prompts}-{vectors}"
    store = build_store(folder, n_prompts, embedder.dimension, vectors, data_root)
    if "knn" not in store.registry().fits:  # route as a fitted store does: group prior, ensemble, calibration
        t = time.perf_counter()
        Router(store, embedder=embedder, k=k).fit()
        print(f"store fit: {time.perf_counter() - t:.1f} s")
    fit = KNNFit.model_validate_json(store.registry().fits["knn"])
    print(
        f"store: {n_prompts:,} prompts ({vectors}) x {len(MODELS)} models, k={k}, "
        f"embedder {type(embedder.inner).__name__}, {fit.describe()}"
    )
    # Summary cache off: every route reads all k neighbours' records from Chroma.
    cold = Router(BehaviourStore.open(str(folder), name="bench", cache_ttl_s=0.0), embedder=embedder, k=k)
    t = time.perf_counter()
    cold.route("warm up the model and the index", alpha=0.5)
    print(f"first route after opening the store: {(time.perf_counter() - t) * 1000:.0f} ms")
    timed_routes(cold, [f"warm-up {i}: {q}" for i, q in enumerate(QUERIES[::4])])  # page the index in
    report("new query, unseen region (embedding included)", *timed_routes(cold, [f"{q} (a)" for q in QUERIES]))
    # Default caches: the neighbours' records of the last few seconds are reused.
    router = Router(BehaviourStore.open(str(folder), name="bench"), embedder=embedder, k=k)
    timed_routes(router, [f"{q} (b)" for q in QUERIES])  # traffic in these regions just before
    report("new query in a recently routed region (default)", *timed_routes(router, [f"{q} (c)" for q in QUERIES]))
    report("repeated query (default)", *timed_routes(router, [f"{q} (c)" for q in QUERIES]))
    # The same machine state, for comparison across runs: the default embedder against torch.
    for name, inner in (
        ("ONNX Runtime (default)", embedder.inner),
        ("sentence-transformers", SentenceTransformerEmbedder()),
    ):
        inner.embed(["warm up"])
        print(f"embedding one query, {name}: {percentiles(embed_times(inner, [f'{q} (d)' for q in QUERIES]))}")


def embed_times(embedder: Embedder, texts: list[str]) -> list[float]:
    times = []
    for text in texts:
        t = time.perf_counter()
        embedder.embed([text])
        times.append((time.perf_counter() - t) * 1000)
    return times


def bench_ingest(data: Path) -> None:
    dataset = load_dataset(data)
    with tempfile.TemporaryDirectory() as tmp:
        router = Router(BehaviourStore.open(tmp), embedder=default_embedder(disk_cache=True))
        router.embed_texts([p.text for p in dataset.prompts])  # fill the disk cache first
        t = time.perf_counter()
        n = router.ingest(dataset, progress=False)
        dt = time.perf_counter() - t
        print(f"ingest {dataset.name}: {n:,} outcomes in {dt:.1f} s = {n / dt:,.0f} outcomes/s (embeddings cached)")
        t = time.perf_counter()
        again = router.ingest(dataset, progress=False)
        print(f"re-ingest: {again} records changed in {time.perf_counter() - t:.1f} s")
    short = [f"{q} (variant {i})" for i in range(20) for q in QUERIES[:50]]
    t = time.perf_counter()
    default_embedder().inner.embed(short)
    print(f"embedding short prompts: {len(short) / (time.perf_counter() - t):,.0f} texts/s")
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    parser.add_argument("--vectors", choices=("prompts", "random"), default="prompts", help="what the store holds")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/routerbench-3k"))
    args = parser.parse_args()
    bench_routing(args.prompts, args.k, args.vectors, args.data.parent)
    if args.data.is_dir():
        bench_ingest(args.data)


if __name__ == "__main__":
    main()
