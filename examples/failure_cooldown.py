"""A candidate that fails, then recovers: the trace of which model each call tries first.

The cheap model answers everything right in the store's history, so the router prefers it; then it
goes down. After ``allowed_fails`` failures in a row it sits in a cooldown and the strong model is
tried first; when the cooldown ends it is tried again, and once it answers it is back.

    HF_HUB_OFFLINE=1 .venv/bin/python examples/failure_cooldown.py
"""

from __future__ import annotations

import time

from scope_core import BehaviourStore, Candidate, ModelSpec, Outcome, Router
from scope_core.health import HealthTracker
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel

SPECS = [
    ModelSpec(name="cheap", input_price=0.1, output_price=0.4),
    ModelSpec(name="strong", input_price=3, output_price=15),
]


def main(calls: int = 14, down_for: int = 6, cooldown_s: float = 0.5) -> list[tuple[int, str, str]]:
    store = BehaviourStore.ephemeral()
    router = Router(
        store,
        cache_ttl_s=0.0,
        health=HealthTracker(allowed_fails=3, cooldown_time=cooldown_s, window_s=2 * cooldown_s),
    )
    models = {s.name: ScriptedChatModel(model=s.name) for s in SPECS}
    llm = ScopeChatModel(router=router, candidates=[Candidate(model=models[s.name], spec=s) for s in SPECS])
    for i in range(20):  # history: both models right on these questions
        text = f"What is {i} + {i}?"
        router.record([Outcome(prompt=text, model=m, score=1.0, input_tokens=12, output_tokens=4) for m in models])
    trace = []
    for call in range(calls):
        models["cheap"].error = ConnectionError("cheap is down") if call < down_for else None
        meta = llm.invoke("What is 7 + 7?", alpha=0.5).response_metadata["scope"]
        tried = [*meta["failed"], meta["model"]]
        trace.append((call, tried[0], "failed, fell back" if meta["failed"] else "answered"))
        print(f"call {call:2d}: tried {tried[0]:6s} first, {trace[-1][2]} -> answered by {meta['model']}")
        time.sleep(cooldown_s / 4)
    llm.flush()
    store.drop()
    return trace


if __name__ == "__main__":
    main()
