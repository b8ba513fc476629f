"""Evidence coverage: per model, how many outcomes the store holds, how many carry a score, how many failed."""

from __future__ import annotations

from dataclasses import dataclass

from .store import BehaviourStore

_PAGE = 5_000


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
    table = store._outcomes  # the outcome records; BehaviourStore has no per-model counter yet
    offset = 0
    while True:
        page = table.get(include=["metadatas"], limit=_PAGE, offset=offset)["metadatas"]
        for meta in page:
            c = found.setdefault(str(meta["m"]), Coverage())
            c.outcomes += 1
            if meta.get("err"):
                c.errors += 1
            elif "s" in meta:
                c.scored += 1
        if len(page) < _PAGE:
            return found
        offset += _PAGE
