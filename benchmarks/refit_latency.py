"""Does a background refit slow routes down? Route latency with and without a refit running on another thread.

A router on routerbench-3k (ingested into a temporary embedded store) routes new prompts (mmlu-pro-29's, never
stored) in alternating blocks: idle, then while ``router.fit()`` runs in a loop on a background thread (what
``Router(refit_every=N)`` does once N scored outcomes arrived). Each route embeds its prompt (ONNX), reads its
neighbours and estimates every model. Prints p50/p90/p99 per condition and how long one fit takes.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/refit_latency.py [--routes 600] [--blocks 6]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from scope_core import Router, load_dataset
from scope_core.routing.refit import background_priority

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _route_block(router: Router, prompts: list[str]) -> list[float]:
    took = []
    for text in prompts:
        start = time.perf_counter()
        router.route(text, alpha=0.7)
        took.append((time.perf_counter() - start) * 1000)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=600, help="routes per condition")
    parser.add_argument("--blocks", type=int, default=6, help="alternating blocks per condition")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        router = Router.open(folder, journal=Path(folder) / "journal.sqlite")
        router.ingest(load_dataset(DATA / "routerbench-3k"), progress=False)
        prompts = [p.text for p in load_dataset(DATA / "mmlu-pro-29").prompts[: 2 * args.routes + 20]]
        _route_block(router, prompts[:20])  # warm caches
        per_block = args.routes // args.blocks
        idle: list[float] = []
        busy: list[float] = []
        fits: list[float] = []
        for block in range(args.blocks):
            at = 20 + 2 * block * per_block
            idle += _route_block(router, prompts[at : at + per_block])
            stop = threading.Event()

            def refit_loop(stop: threading.Event = stop) -> None:
                background_priority()  # as the Refitter's thread does
                while not stop.is_set():
                    start = time.perf_counter()
                    router.fit()
                    fits.append(time.perf_counter() - start)

            worker = threading.Thread(target=refit_loop)
            worker.start()
            busy += _route_block(router, prompts[at + per_block : at + 2 * per_block])
            stop.set()
            worker.join()
        print("| condition | routes | p50 ms | p90 ms | p99 ms |")
        print("|---|---|---|---|---|")
        for name, took in (("idle", idle), ("a refit running", busy)):
            p50, p90, p99 = np.percentile(took, [50, 90, 99])
            print(f"| {name} | {len(took)} | {p50:.1f} | {p90:.1f} | {p99:.1f} |")
        print(f"\none fit of routerbench-3k: {np.median(fits):.1f} s median over {len(fits)} fits")
        router.journal.close()


if __name__ == "__main__":
    main()
