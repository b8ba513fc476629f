"""Evidence coverage: per model, how many outcomes the store holds, how many carry a score, how many failed."""

from __future__ import annotations

from dataclasses import dataclass

from scope_core.store.behaviour import BehaviourStore


@dataclass
class Coverage:
    """One model's stored evidence. A model with no scored outcome is routed on defaults (cold start)."""

    outcomes: int = 0
    scored: int = 0
    errors: int = 0

    @property
    def cold_start(self) -> bool:
        return self.scored == 0


def evidence_coverage(store: BehaviourStore) -> dict[str, Coverage]:
    """{model: Coverage} for every registered model, from one paged read of the outcome records."""
    found = {name: Coverage() for name in store.models()}
    for meta in store.all_outcomes():
        c = found.setdefault(str(meta["m"]), Coverage())
        c.outcomes += 1
        if meta.get("err"):
            c.errors += 1
        elif "s" in meta:
            c.scored += 1
    return found
