"""Does a background refit slow routes down? Route latency with and without refits running back to back.

A router on routerbench-3k (ingested into a temporary embedded store) routes new prompts (mmlu-pro-29's, never
stored) in blocks that take turns: idle, then while a background thread refits in a loop as
``Router(refit_every=N)`` does once N scored outcomes arrived (a frozen copy of the store read on the thread, the fit
in a worker process, saved), then (``--in-thread``) while ``router.fit()`` runs on the thread itself, as refits did
before the worker. Each route embeds its prompt (ONNX), reads its neighbours and estimates every model. Prints
p50/p90/p99 per condition, the spread of p99 between blocks of the same condition (the noise), and one refit's time.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/refit_latency.py [--routes 600] [--blocks 6] [--in-thread]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from scope_core import Router, load_dataset
from scope_core.routing.refit import Refitter, lowest_priority

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _route_block(router: Router, prompts: list[str]) -> list[float]:
    took = []
    for text in prompts:
        start = time.perf_counter()
        router.route(text, alpha=0.7)
        took.append((time.perf_counter() - start) * 1000)
    return took


def _while_refitting(router: Router, prompts: list[str], refitter: Refitter, took: list[float]):
    """Route ``prompts`` while ``refitter`` refits back to back on a background thread at the lowest priority."""
    stop = threading.Event()

    def loop() -> None:
        lowest_priority()  # as the Refitter's thread does
        while not stop.is_set():
            start = time.perf_counter()
            refitter.refit()
            took.append(time.perf_counter() - start)

    worker = threading.Thread(target=loop)
    worker.start()
    try:
        return _route_block(router, prompts)
    finally:
        stop.set()
        worker.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=600, help="routes per condition")
    parser.add_argument("--blocks", type=int, default=6, help="blocks per condition")
    parser.add_argument("--in-thread", action="store_true", help="also refit on the thread itself (the old way)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        router = Router.open(folder, journal=Path(folder) / "journal.sqlite")
        router.ingest(load_dataset(DATA / "routerbench-3k"), progress=False)
        conditions: dict[str, Refitter | None] = {"idle": None, "refit in a worker process": Refitter(router, 1)}
        if args.in_thread:
            conditions["refit on the thread"] = Refitter(router, 1, processes=False)
        per_block = args.routes // args.blocks
        prompts = [p.text for p in load_dataset(DATA / "mmlu-pro-29").prompts[: len(conditions) * args.routes + 20]]
        _route_block(router, prompts[:20])  # warm caches
        took: dict[str, list[list[float]]] = {name: [] for name in conditions}
        refits: dict[str, list[float]] = {name: [] for name in conditions}
        at = 20
        for _ in range(args.blocks):
            for name, refit in conditions.items():
                block = prompts[at : at + per_block]
                at += per_block
                routed = (
                    _route_block(router, block)
                    if refit is None
                    else _while_refitting(router, block, refit, refits[name])
                )
                took[name].append(routed)
        print("| condition | routes | p50 ms | p90 ms | p99 ms | p99 per block, min-max ms | one refit, median s |")
        print("|---|---|---|---|---|---|---|")
        for name, blocks in took.items():
            p50, p90, p99 = np.percentile(np.concatenate(blocks), [50, 90, 99])
            per = [np.percentile(b, 99) for b in blocks]
            fit_s = f"{np.median(refits[name]):.1f} ({len(refits[name])} refits)" if refits[name] else "-"
            print(
                f"| {name} | {sum(map(len, blocks))} | {p50:.1f} | {p90:.1f} | {p99:.1f} | {min(per):.0f}-{max(per):.0f} | {fit_s} |"
            )
        router.journal.close()


if __name__ == "__main__":
    main()
