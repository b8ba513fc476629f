"""Where a warning should point: the caller's line, not the library frame that noticed the problem."""

from __future__ import annotations

import sys

# packages a routed call passes through on its way from the caller's line to the warning
LIBRARY = frozenset(
    {"scope_core", "scope_langchain", "scope_llamaindex", "langchain", "langchain_core", "langgraph", "llama_index"}
    | {"asyncio", "concurrent", "threading", "contextvars", "pydantic", "anyio"}
)


def caller_stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` made by this function's caller that names the first frame outside
    ``LIBRARY`` (the outermost library frame when there is none, e.g. on a worker thread)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_globals.get("__name__", "").partition(".")[0] in LIBRARY:
        frame, level = frame.f_back, level + 1
    return level
