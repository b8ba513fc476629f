"""Overhead ScopeChatModel adds to a call beyond the core's routing time (target: p50 <= 2 ms).

For each call: overhead = wall time of ``ScopeChatModel.invoke`` - the router's own ``total_ms``
(embed + search + estimate + policy, from the decision) - the p50 of invoking the same candidate
directly. The candidate is a zero-latency scripted chat model, so what remains is the adapter:
message conversion, routing text, delegation, usage/cost, metadata and queueing the outcome record
(records are written on a background thread; their store time is reported separately).

Run: .venv/bin/python benchmarks/langchain_overhead.py [calls]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from langchain_core.messages import HumanMessage, SystemMessage

from scope_core import BehaviourStore, Capability, ModelSpec, Outcome, Router, default_embedder
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel

CAPS = frozenset({Capability.TOOLS})
SPECS = [ModelSpec(name=f"m{i}", input_price=0.1 * 4**i, output_price=0.4 * 4**i, capabilities=CAPS) for i in range(4)]
PROMPTS = [f"Question {i}: what is {i} times {i + 3}, and why?" for i in range(20)]


def _router() -> Router:
    router = Router(BehaviourStore.ephemeral(), embedder=default_embedder())
    for spec in SPECS:
        router.register_model(spec)
    router.record(
        [
            Outcome(prompt=p, model=s.name, score=float((i + j) % 2), input_tokens=20, output_tokens=80)
            for i, p in enumerate(PROMPTS)
            for j, s in enumerate(SPECS)
        ]
    )
    return router


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main(calls: int) -> None:
    router = _router()
    llm = ScopeChatModel(candidates=[(ScriptedChatModel(model=s.name), s) for s in SPECS], router=router)
    direct = ScriptedChatModel(model="direct")
    conversations = [[SystemMessage("Be brief."), HumanMessage(p)] for p in PROMPTS]
    for conv in conversations:  # warm-up: embeddings cached, code paths loaded
        llm.invoke(conv)
    direct_ms = []
    for i in range(calls):
        t = time.perf_counter()
        direct.invoke(conversations[i % len(conversations)])
        direct_ms.append((time.perf_counter() - t) * 1000)
    base = statistics.median(direct_ms)
    total_ms, routing_ms, overhead_ms, flush_ms = [], [], [], []
    for i in range(calls):
        t = time.perf_counter()
        reply = llm.invoke(conversations[i % len(conversations)])
        wall = (time.perf_counter() - t) * 1000
        core = reply.response_metadata["scope"]["timings_ms"]["total_ms"]
        total_ms.append(wall)
        routing_ms.append(core)
        overhead_ms.append(wall - core - base)
        t = time.perf_counter()
        llm.flush()  # untimed: the record is written off the call path; keep its thread out of the next call
        flush_ms.append((time.perf_counter() - t) * 1000)

    async def concurrent() -> float:
        t = time.perf_counter()
        await asyncio.gather(*(llm.ainvoke(conversations[i % len(conversations)]) for i in range(calls)))
        return (time.perf_counter() - t) * 1000

    async_ms = asyncio.run(concurrent())
    llm.flush()
    print(f"calls: {calls} (candidates: {len(SPECS)}, embeddings cached)")
    print(f"direct candidate invoke      p50 {base:7.3f} ms")
    print(f"ScopeChatModel.invoke wall   p50 {statistics.median(total_ms):7.3f} ms  p90 {_pct(total_ms, 90):7.3f} ms")
    print(f"core routing (total_ms)      p50 {statistics.median(routing_ms):7.3f} ms")
    print(
        f"adapter overhead             p50 {statistics.median(overhead_ms):7.3f} ms  "
        f"p90 {_pct(overhead_ms, 90):7.3f} ms  (target p50 <= 2 ms)"
    )
    print(f"outcome record (background)  p50 {statistics.median(flush_ms):7.3f} ms  (not on the call path)")
    print(f"{calls} concurrent ainvoke       {async_ms:9.1f} ms wall, outcomes stored: {router.store.count_outcomes()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
