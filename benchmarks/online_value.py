"""What the bandit store lacks: one model's outcomes bought on part of the stream, and what they add.

The bandit run of ``benchmarks/online.py`` (same split, stream and refits) into a kept store; then, for each N, a
copy of that store given the true outcomes of ``--model`` (default: the warm-up's most accurate model) on N random
stream prompts, refitted and judged on the held-out prompts like every store of the replay (AIQ, top accuracy,
log loss, the top of the sweep's choices). It prices the information the stream at a cheap alpha never buys.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/online_value.py --data mmlu-pro-29 --seed 1 [--buy 0 75 150 300 750 1500]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scope_core.data.dataset import load_dataset  # noqa: E402
from scope_core.evaluation import online  # noqa: E402
from scope_core.routing.router import DEFAULT_K, Router  # noqa: E402
from scope_core.store.behaviour import BehaviourStore  # noqa: E402
from scope_core.text.embedder import default_embedder  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def _setup(args: argparse.Namespace):
    dataset = load_dataset(DATA / args.data)
    truth = online._Truth(dataset)
    warm, ids, held = online._split(dataset, truth, 100, 1500, 1550, args.seed)
    return dataset, truth, warm, ids, held


def _bandit_store(args: argparse.Namespace, where: Path) -> None:
    """The replay's bandit run into a store at ``where`` (in its own process, so the store is closed after)."""
    dataset, truth, warm, ids, _ = _setup(args)
    router = Router(BehaviourStore.open(where), embedder=default_embedder(disk_cache=True), k=DEFAULT_K, seed=args.seed)
    router.ingest(dataset.subset(warm), progress=False)
    calls, choices = online._stream(
        router, truth, ids, "bandit", args.alpha, feedback=1.0, delay=0, explore=None, refit_every=250, seed=args.seed
    )
    router.fit()
    spent = float(np.mean([c for _, c, _ in calls]))
    print(
        f"{args.data} seed {args.seed}: the stream bought {dict(choices)} at ${spent * 1000:.2f}/1k calls", flush=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mmlu-pro-29")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--alpha", type=float, default=0.7, help="the stream's alpha")
    parser.add_argument("--model", help="the model whose outcomes are bought (default: the warm-up's most accurate)")
    parser.add_argument("--buy", type=int, nargs="+", default=[0, 75, 150, 300, 750, 1500])
    args = parser.parse_args()
    _, truth, warm, ids, held = _setup(args)
    judged, embedder = online._Judged(truth, held), default_embedder(disk_cache=True)
    model = args.model or max(truth.models, key=lambda m: np.nanmean([truth.of(p, m)[0] for p in warm]))
    price = float(np.nanmean([truth.of(p, model)[1] for p in ids]))
    with tempfile.TemporaryDirectory() as tmp:
        kept = Path(tmp) / "bandit"
        process = multiprocessing.get_context("spawn").Process(target=_bandit_store, args=(args, kept))
        process.start()
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"the bandit run failed (exit {process.exitcode})")
        print(f"buying {model} at ${price * 1000:.2f}/1k calls")
        print("| bought | added cost per stream call | AIQ | top accuracy | log loss | top of the sweep |")
        print("|---|---|---|---|---|---|")
        for n in args.buy:
            copy = Path(tmp) / f"bought-{n}"
            shutil.copytree(kept, copy)
            router = Router(BehaviourStore.open(copy), embedder=embedder, k=DEFAULT_K, seed=args.seed)
            picked = [p for p in random.Random(args.seed).sample(list(ids), n) if model in truth.answered(p)]
            if picked:
                router.record([online._outcome(truth, p, model) for p in picked])
            router.fit()
            chosen, loss, _ = online._judge(router, judged, False)
            aiq, top = judged.aiq(chosen)
            added = len(picked) * price / len(ids)
            picks = ", ".join(f"{m} {c}" for m, c in Counter(judged.models[j] for j in chosen[-1]).most_common(3))
            print(f"| {n} | ${added * 1000:.2f}/1k | {aiq:.4f} | {top:.4f} | {loss:.4f} | {picks} |", flush=True)


if __name__ == "__main__":
    main()
