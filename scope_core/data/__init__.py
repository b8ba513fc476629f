"""Outcome data sets: loading a data folder or a long CSV/JSONL file, and ingesting it into a store."""

from scope_core.lazy import lazy_exports

__all__ = ["Dataset", "load_dataset"]
__getattr__, __dir__ = lazy_exports(
    __name__, {"Dataset": "scope_core.data.dataset", "load_dataset": "scope_core.data.dataset"}
)
