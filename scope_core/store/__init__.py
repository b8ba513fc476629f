"""The behaviour store and its durability: Chroma collections of prompts, outcomes and the model registry,
the local journal every write passes through, the guard around every Chroma call, and the in-memory index
evaluations search instead."""

from scope_core.lazy import lazy_exports

__all__ = ["BehaviourStore", "Journal", "MemoryIndex", "Neighbourhood", "PromptInfo", "Registry"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BehaviourStore": "scope_core.store.behaviour",
        "Journal": "scope_core.store.journal",
        "MemoryIndex": "scope_core.store.memory_index",
        "Neighbourhood": "scope_core.store.behaviour",
        "PromptInfo": "scope_core.store.behaviour",
        "Registry": "scope_core.store.behaviour",
    },
)
