"""Route + record latency with 1 thread and with 8 threads on one router, embedded store and server.

Each call routes a new query (a routerbench-3k prompt with a variant suffix, so neither the embedding
nor the neighbourhood is cached) and records its outcome with ``wait=True``; the store first holds
``--prompts`` routerbench-3k prompts x 11 models. Reported per thread count: p50 / p99 of the whole
call, of the route and of the record, and calls per second; and the latency of accepting an outcome
with ``wait=False`` (journaled, fsync'd). With ``--profile`` the 8-thread run is sampled by cProfile.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/concurrency.py [--prompts 300] [--calls 96] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SCOPE_JOURNAL_DIR", tempfile.mkdtemp(prefix="scope-bench-journal-"))

from scope_core import Router, default_embedder, load_dataset  # noqa: E402
from tests.chroma_server import ChromaServer  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "routerbench-3k"


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def _one(router: Router, query: str, tag: str) -> tuple[float, float]:
    """(route ms, record ms) of one call."""
    t0 = time.perf_counter()
    decision = router.route(query)
    t1 = time.perf_counter()
    router.record_call(decision, query, decision.chosen, score=1.0, input_tokens=50, output_tokens=20, run_id=tag)
    return (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000


def _cpu_s(pid: int | None) -> float:
    """CPU seconds used so far by this process, or by process ``pid`` (the Chroma server)."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    router: Router, queries: list[str], threads: int, calls: int, label: str, server_pid: int | None = None
) -> dict[str, float]:
    """Latency figures of ``calls`` route + record calls on ``threads`` threads, and CPU ms per call."""
    tag = f"{label}-{threads}-{time.time_ns()}"  # never embedded before, not even in the disk cache
    jobs = [(queries[i % len(queries)] + f" (variant {tag}-{i})", f"{tag}-{i}") for i in range(calls)]
    started, cpu, server_cpu = time.perf_counter(), _cpu_s(None), _cpu_s(server_pid) if server_pid else 0.0
    with ThreadPoolExecutor(threads) as pool:
        timings = list(pool.map(lambda job: _one(router, *job), jobs))
    wall = time.perf_counter() - started
    cpu = (_cpu_s(None) - cpu) * 1000 / calls
    server_cpu = (_cpu_s(server_pid) - server_cpu) * 1000 / calls if server_pid else 0.0
    route, record = [t[0] for t in timings], [t[1] for t in timings]
    total = [a + b for a, b in timings]
    return {
        "threads": threads,
        "call p50": statistics.median(total),
        "call p99": _pct(total, 0.99),
        "route p50": statistics.median(route),
        "record p50": statistics.median(record),
        "calls/s": calls / wall,
        "cpu ms/call": cpu + server_cpu,
        "cores used": (cpu + server_cpu) * calls / wall / 1000,
    }


def accept_latency(router: Router, queries: list[str], n: int = 200) -> tuple[float, float]:
    """p50 / p99 ms of ``record_call(..., wait=False)`` on a routed query (its embedding cached by the route)."""
    decision = router.route(queries[0])
    times = []
    for i in range(n):
        t = time.perf_counter()
        router.record_call(decision, queries[0], decision.chosen, score=1.0, run_id=f"accept-{i}", wait=False)
        times.append((time.perf_counter() - t) * 1000)
    router.flush()
    return statistics.median(times), _pct(times, 0.99)


def run(
    location: str, queries: list[str], train, calls: int, profile: bool, server_pid: int | None = None
) -> list[dict[str, float]]:
    router = Router.open(location, name="conc", embedder=default_embedder(disk_cache=True))
    router.ingest(train, progress=False)
    router.route(queries[0])
    rows = [measure(router, queries, 1, calls // 3, location[:4], server_pid)]
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    rows.append(measure(router, queries, 8, calls, location[:4], server_pid))
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    p50, p99 = accept_latency(router, queries)
    for row in rows:
        row.update(
            {"store": "server" if location.startswith("http") else "embedded", "accept p50": p50, "accept p99": p99}
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=300, help="routerbench-3k prompts ingested first")
    parser.add_argument("--calls", type=int, default=96, help="calls under 8 threads (a third of it on one)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    dataset = load_dataset(DATA)
    train = dataset.subset([p.id for p in dataset.prompts[: args.prompts]])
    queries = [p.text for p in dataset.prompts[args.prompts : args.prompts + 200]]
    tmp = Path(tempfile.mkdtemp(prefix="scope-concurrency-"))
    rows = run(str(tmp / "embedded"), queries, train, args.calls, args.profile)
    server = ChromaServer(tmp / "chroma")
    server.start()
    try:
        rows += run(server.url, queries, train, args.calls, args.profile, server.proc.pid if server.proc else None)
    finally:
        server.stop()
    for row in rows:
        print(" | ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
