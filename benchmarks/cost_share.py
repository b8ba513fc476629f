"""How well ``cost_share`` hits its target: calibrate on the train half's store, route the held-out half.

For each data set (seed 0, train half ingested into a fresh store, ``--fast``-style exact in-memory neighbours):
``router.alpha_for(target)`` over all models, then the held-out prompts are routed once and charged their recorded
costs at that alpha; the achieved share is their total over always calling the same dearest model on them.

    python benchmarks/cost_share.py [--data ../shared/data/routerbench-3k ../shared/data/mmlu-pro-29] [--test N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from scope_core import BehaviourStore, Router, load_dataset
from scope_core.evaluation.split import split_prompts
from scope_core.evaluation.sweep import choices_at, route_prompts
from scope_core.store.memory_index import MemoryIndex
from scope_core.text.embedder import default_embedder

DATA = ["../shared/data/routerbench-3k", "../shared/data/mmlu-pro-29"]
TARGETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7)


def measure(path: str, test_n: int | None, seed: int = 0) -> list[tuple[float, float, float, float]]:
    """(target, alpha, achieved share, accuracy) per target on one data set."""
    dataset = load_dataset(path)
    train_ids, test_ids = split_prompts(dataset, 0.5, seed)
    rng = np.random.default_rng(seed)
    if test_n is not None and test_n < len(test_ids):
        test_ids = sorted(rng.choice(test_ids, size=test_n, replace=False).tolist())
    store = BehaviourStore.ephemeral()
    try:
        router = Router(store, embedder=default_embedder(disk_cache=True), cache_ttl_s=3600.0)
        router.ingest(dataset.subset(train_ids), progress=False, fit=False)
        router.index = MemoryIndex.snapshot(store)
        router.fit()
        models = dataset.models
        scores = dataset.matrix("score", test_ids)
        keep = ~np.isnan(scores).any(axis=1)  # prompts every model answered: one shared candidate set
        test_ids = [i for i, k in zip(test_ids, keep, strict=True) if k]
        scores, costs = scores[keep], np.nan_to_num(dataset.matrix("cost_usd", test_ids), nan=0.0)
        text_of = {p.id: p.text for p in dataset.prompts}
        t = time.perf_counter()
        alphas = [router.alpha_for(target) for target in TARGETS]
        calibrated_s = time.perf_counter() - t
        dearest = router.cost_shares.curve(list(router.models().values())).dearest
        routed = route_prompts(router, [text_of[i] for i in test_ids], [models] * len(test_ids))[router.estimator.name]
        chosen = choices_at(routed, router.models(), alphas, models)
    finally:
        store.drop()
    rows = np.arange(len(test_ids))
    full = costs[:, models.index(dearest)].sum()
    print(f"{Path(path).name}: {len(train_ids)} train prompts, {len(test_ids)} held-out, dearest {dearest}, "
          f"calibration {calibrated_s:.1f} s")  # fmt: skip
    return [
        (target, alpha, float(costs[rows, c].sum() / full), float(scores[rows, c].mean()))
        for target, alpha, c in zip(TARGETS, alphas, chosen, strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=DATA)
    parser.add_argument("--test", type=int, default=1000, help="held-out prompts routed per data set")
    args = parser.parse_args()
    for path in args.data:
        results = measure(path, args.test)
        print("| target cost_share | alpha | achieved share | accuracy |\n|---|---|---|---|")
        for target, alpha, share, accuracy in results:
            print(f"| {target:.2f} | {alpha:.4f} | {share:.3f} | {accuracy:.3f} |")
        errors = [abs(share - target) for target, _, share, _ in results]
        print(f"mean absolute error {np.mean(errors):.3f}, max {np.max(errors):.3f}\n")


if __name__ == "__main__":
    main()
