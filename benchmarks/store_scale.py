"""A large embedded store: build time, memory, disk per prompt and route latency at 10k / 100k / 1M prompts.

The prompts are **synthetic**: random unit vectors (384-d, uniform on the sphere, HNSW's worst case: no
neighbourhood structure) with packed summaries for 14 models, written in their final form (one prompt
write per 2,000 prompts, no outcome records), so a million fit on this machine; queries are random unit
vectors too, so the route figures exclude embedding (MiniLM adds about 18 ms on this machine's 2 cores).
The store grows size by size (10k, then to 100k, then to 1M); a size whose build would overrun ``--max-s``
(estimated from the rate so far) is skipped and reported so. Routes read every neighbour's record from
Chroma (no summary cache). *RSS*: this process's resident memory after routing (store open, index loaded).
Writes benchmarks/store_scale.md.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/store_scale.py [--sizes 10000,100000,1000000] [--max-s 1800]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.routing_speed import MODELS  # noqa: E402
from scope_core import BehaviourStore, ColdStartWarning, Router  # noqa: E402
from scope_core.store.records import PromptInfo  # noqa: E402

DIM = 384
BATCH = 2000


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def grow(store: BehaviourStore, start: int, stop: int, rng: np.random.Generator) -> None:
    """Add prompts ``start`` .. ``stop - 1``, each with a summary for every model."""
    for lo in range(start, stop, BATCH):
        hi = min(lo + BATCH, stop)
        infos = [PromptInfo(f"p{i:07d}", v, 60) for i, v in zip(range(lo, hi), _unit(rng, hi - lo), strict=True)]
        stats = {
            p.hash: {
                m.name: [1, float(rng.random() < 0.5 + 0.03 * j), 1, 200, 60, m.cost(60, 200)]
                for j, m in enumerate(MODELS)
            }
            for p in infos
        }
        store._add_prompts(infos, stats)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _disk_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def routes(store: BehaviourStore, n: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """p50 / p99 of the whole route and p50 of the search, ms, over ``n`` random queries."""
    router = Router(store, embedder=lambda texts: _unit(rng, len(texts)), cache_ttl_s=0.0)
    totals, searches = [], []
    for i in range(n + 5):
        started = time.perf_counter()
        decision = router.route(f"synthetic query {i}")
        if i >= 5:  # the first routes load the index
            totals.append((time.perf_counter() - started) * 1000)
            searches.append(decision.timings_ms["search_ms"])
    return float(np.percentile(totals, 50)), float(np.percentile(totals, 99)), float(np.percentile(searches, 50))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated store sizes, ascending")
    parser.add_argument("--max-s", type=float, default=1800.0, help="stop before a build that would overrun this")
    parser.add_argument("--routes", type=int, default=200)
    parser.add_argument("--folder", type=Path, default=None, help="store folder (default: a new temp folder)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "store_scale.md")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ColdStartWarning)  # the models have summaries on prompts but no outcome records
    sizes = sorted(int(s) for s in args.sizes.split(","))
    folder = args.folder or Path(tempfile.mkdtemp(prefix="scope-scale-")) / "store"
    store = BehaviourStore.open(str(folder), name="scale")
    for spec in MODELS:
        store.put_model(spec)
    rng = np.random.default_rng(0)
    started, built, build_s = time.perf_counter(), 0, 0.0
    rows = []
    for size in sizes:
        rate = built / build_s if build_s else None
        if rate and time.perf_counter() - started + (size - built) / rate > args.max_s:
            rows.append(
                f"| {size:,} | not built: about {(size - built) / rate:,.0f} s more at {rate:,.0f}/s, past --max-s |"
            )
            break
        t = time.perf_counter()
        grow(store, built, size, rng)
        build_s += time.perf_counter() - t
        built = size
        p50, p99, search = routes(store, args.routes, rng)
        rows.append(
            f"| {size:,} | {build_s:,.0f} | {built / build_s:,.0f} | {_rss_mb():,.0f} | {_disk_bytes(folder) / size:,.0f} "
            f"| {p50:.1f} | {p99:.1f} | {search:.1f} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    _report(args, rows, time.perf_counter() - started)


def _report(args: argparse.Namespace, rows: list[str], total_s: float) -> None:
    lines = [
        "# A large store",
        "",
        f"`HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/store_scale.py --sizes {args.sizes} --max-s {args.max_s:g}` "
        f"on this shared 2-core machine ({total_s:.0f} s in all). One embedded store grows to each size in turn; its "
        "prompts are **synthetic random unit vectors** (384-d) with packed summaries for 14 models, written in their "
        "final form, not real embeddings nor outcome records; queries are random unit vectors, so *route* excludes "
        "embedding (MiniLM adds about 18 ms here) and reads every neighbour's record from Chroma (k=128, no "
        "summary cache). *RSS*: this process after routing; *disk*: the store folder / prompts.",
        "",
        "| prompts | build s (cumulative) | prompts/s | RSS MB | disk bytes/prompt | route p50 ms | route p99 ms "
        "| search p50 ms |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
