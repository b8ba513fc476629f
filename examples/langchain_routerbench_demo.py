"""Route a LangChain chain over replayed RouterBench models (recorded answers and costs, no API key):
real routing on real outputs.

Run: .venv/bin/python examples/langchain_routerbench_demo.py [data folder] [n]
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

from langchain_core.prompts import ChatPromptTemplate

from scope_core import BehaviourStore, Dataset, Router, default_embedder, load_dataset
from scope_langchain import ScopeChatModel, replay_candidates

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "routerbench-3k"


def run_chain_demo(
    data: str | Path | Dataset, n: int = 5, *, history: int = 1000, alpha: float = 0.5, seed: int = 0, show: bool = True
) -> list[dict[str, Any]]:
    """Route ``n`` held-out prompts of a data set (folder, file or Dataset) through ``prompt | ScopeChatModel``.

    The router learns from ``history`` other prompts of the same data set (an in-memory store);
    each candidate replays its recorded answer, so the decision, the answer and its graded score
    are all real. Returns one row per prompt (and prints them when ``show``).
    """
    dataset = data if isinstance(data, Dataset) else load_dataset(data)
    prompts = list(dataset.prompts)
    random.Random(seed).shuffle(prompts)
    held_out, past = prompts[:n], prompts[n : n + history]
    router = Router(BehaviourStore.ephemeral(), embedder=default_embedder(disk_cache=True))
    router.ingest(dataset.subset([p.id for p in past]), progress=show)
    llm = ScopeChatModel(candidates=replay_candidates(dataset), router=router, alpha=alpha)
    chain = ChatPromptTemplate.from_messages([("human", "{question}")]) | llm
    rows = []
    for prompt in held_out:
        reply = chain.invoke({"question": prompt.text})
        scope = reply.response_metadata["scope"]
        rows.append(
            {
                "prompt_id": prompt.id,
                "model": reply.response_metadata["model_name"],
                "p_correct": scope["candidates"][scope["model"]]["p_correct"],
                "cost_usd": scope["cost_usd"],
                "recorded_score": reply.response_metadata["recorded_score"],
                "answer": reply.text,
            }
        )
    llm.flush()
    if show:
        _print(rows, alpha)
    return rows


def _print(rows: list[dict[str, Any]], alpha: float) -> None:
    print(f"\nScopeChatModel over replayed RouterBench models (alpha={alpha}):")
    for row in rows:
        answer = " ".join(row["answer"].split())[:60]
        print(
            f"  {row['prompt_id']:<28} -> {row['model']:<34} p={row['p_correct']:.2f} "
            f"${row['cost_usd']:.6f} score={row['recorded_score']:.0f}  {answer!r}"
        )
    correct = sum(r["recorded_score"] for r in rows)
    print(f"  {correct:.0f}/{len(rows)} correct for ${sum(r['cost_usd'] for r in rows):.6f}")


if __name__ == "__main__":
    run_chain_demo(sys.argv[1] if len(sys.argv) > 1 else DATA, n=int(sys.argv[2]) if len(sys.argv) > 2 else 8)
