"""What ScopeLLM adds on top of the core's routing time, per call (target: p50 <= 2 ms).

overhead = wall time of ScopeLLM.chat - the decision's own timings_ms["total_ms"] - the candidate's time
(a local ScriptedLLM, timed alone). The "no recording" rows are the adapter's overhead; the "recording"
rows add router.record_call (core work: a Chroma write per call). Run: HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/llamaindex_overhead.py [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from llama_index.core.base.llms.types import ChatMessage

from scope_core import BehaviourStore, Outcome, Router, default_embedder
from scope_core.text.checks import query_text
from scope_llamaindex import ScopeLLM, capture_calls, llm_candidate
from scope_llamaindex.testing import ScriptedLLM


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def conversation(i: int) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content="You are a helpful assistant."),
        ChatMessage(role="user", content=f"Question {i}: explain the idea behind proof number {i} in two lines."),
    ]


def setup(record: bool, seeds: int) -> tuple[Router, ScopeLLM, ScriptedLLM]:
    router = Router(BehaviourStore.ephemeral(), embedder=default_embedder(disk_cache=True))
    cheap, strong = ScriptedLLM(model="cheap"), ScriptedLLM(model="strong", tool_format="kwargs")
    pool = [
        llm_candidate("cheap", cheap, 0.1, 0.4),
        llm_candidate("strong", strong, 3.0, 15.0),
    ]
    llm = ScopeLLM(candidates=pool, router=router, record=record)
    texts = [f"Explain proof number {i} of the textbook in two lines." for i in range(seeds)]
    router.record(
        [
            Outcome(
                prompt=t,
                model=m,
                score=float(i % 2 == (m == "strong")),
                input_tokens=30,
                output_tokens=60,
                source="bench",
            )
            for i, t in enumerate(texts)
            for m in ("cheap", "strong")
        ]
    )
    return router, llm, cheap


def time_candidate(cheap: ScriptedLLM, calls: int) -> float:
    times = []
    for i in range(calls):
        t = time.perf_counter()
        cheap.chat(conversation(i))
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def run_sync(llm: ScopeLLM, calls: int, offset: int) -> tuple[list[float], list[float]]:
    walls, cores = [], []
    for i in range(offset, offset + calls):
        with capture_calls() as got:
            t = time.perf_counter()
            llm.chat(conversation(i))
            walls.append((time.perf_counter() - t) * 1000)
        cores.append(got[0].decision.timings_ms["total_ms"])
    return walls, cores


async def run_async(llm: ScopeLLM, calls: int, offset: int) -> tuple[list[float], list[float]]:
    walls, cores = [], []
    for i in range(offset, offset + calls):
        with capture_calls() as got:
            t = time.perf_counter()
            await llm.achat(conversation(i))
            walls.append((time.perf_counter() - t) * 1000)
        cores.append(got[0].decision.timings_ms["total_ms"])
    return walls, cores


def report(name: str, walls: list[float], cores: list[float], candidate_ms: float) -> None:
    overhead = [w - c - candidate_ms for w, c in zip(walls, cores, strict=True)]
    print(
        f"{name:<28} wall p50 {pct(walls, 50):7.2f} ms | core routing p50 {pct(cores, 50):6.2f} ms | "
        f"beyond routing p50 {pct(overhead, 50):6.2f} ms  p95 {pct(overhead, 95):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=300)
    args = parser.parse_args()
    for record in (False, True):
        router, llm, cheap = setup(record, args.seeds)
        n = args.calls if not record else max(args.calls // 3, 20)
        router.embed_texts([query_text(conversation(i)[-1].content) for i in range(2 * n)])  # warm cache
        candidate_ms = time_candidate(cheap, 50)
        run_sync(llm, 10, 10_000)  # warm-up
        label = "recording" if record else "no recording"
        report(f"chat ({label})", *run_sync(llm, n, 0), candidate_ms)
        report(f"achat ({label})", *asyncio.run(run_async(llm, n, n)), candidate_ms)
    print(f"candidate alone: p50 {candidate_ms:.3f} ms; 'recording' rows include router.record_call (a Chroma write)")


if __name__ == "__main__":
    main()
