"""Profiling a model: the shipped graded anchors, graders, asking a model the anchors, and looking up a
model's prices and capabilities (genai-prices, LangChain model profiles)."""

from scope_core.lazy import lazy_exports

__all__ = ["aprofile_model", "profile_model", "spec_for"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "aprofile_model": "scope_core.profiling.profile",
        "profile_model": "scope_core.profiling.profile",
        "spec_for": "scope_core.profiling.lookup",
    },
)
