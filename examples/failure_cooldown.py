"""A candidate that fails, then recovers: the trace of which model each call tries first.

The cheap model answers everything right in the store's history, so the router prefers it; then it
goes down. One failure halves its p, so the strong model is tried first while the failure is recent
(LiteLLM's one-minute window; three in a row would also cool it down); after a quiet minute the cheap
model is tried again, and once it answers it is back.

    HF_HUB_OFFLINE=1 .venv/bin/python examples/failure_cooldown.py
"""

from __future__ import annotations

from scope_core import BehaviourStore, Candidate, ModelSpec, Outcome, Router
from scope_core.routing.health import HealthTracker
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel

SPECS = [
    ModelSpec(name="cheap", input_price=0.1, output_price=0.4),
    ModelSpec(name="strong", input_price=3, output_price=15),
]


def main(calls: int = 12, down_for: int = 6, every_s: float = 10.0) -> list[tuple[int, str, str]]:
    """One call every ``every_s`` seconds of a simulated clock, the cheap model down for the first ``down_for``."""
    now = [0.0]
    store = BehaviourStore.ephemeral()
    health = HealthTracker(allowed_fails=3, cooldown_time=5.0, window_s=60.0, clock=lambda: now[0])
    router = Router(store, cache_ttl_s=0.0, health=health)
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
        print(f"t={now[0]:4.0f} s call {call:2d}: tried {tried[0]:6s} first, {trace[-1][2]} -> {meta['model']}")
        llm.flush()  # outcomes (and failures' health reports) land before the next call: a repeatable trace
        now[0] += every_s
    llm.flush()
    store.drop()
    return trace


if __name__ == "__main__":
    main()
