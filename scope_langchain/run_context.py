"""The caller's run as a chat model call sees it: run id, tags, metadata and session (LangGraph's ``thread_id``, a
``session_id`` in the run's metadata, else the root of the run tree where a tracer keeps it).

``_generate`` gets these from its run manager, but LangChain starts ``_stream``/``_astream`` without one. A
callback handler that runs inline (``run_inline``) hears the run start just before the stream begins, in the
same context, and leaves the run there for ``_stream`` to read.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

_INTERNAL = ("ls_", "lc_", "langgraph_", "checkpoint_")  # metadata LangChain and LangGraph add themselves


@dataclass(frozen=True)
class CallerRun:
    """What the framework tells of the run a routed call belongs to."""

    run_id: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None

    @classmethod
    def of(
        cls, run_id: UUID | str | None, tags: list[str] | None, metadata: dict[str, Any] | None, root: str | None = None
    ) -> CallerRun:
        meta = dict(metadata or {})
        session = meta.get("thread_id") or meta.get("session_id") or root
        own = {k: v for k, v in meta.items() if not k.startswith(_INTERNAL) and k not in ("thread_id", "session_id")}
        return cls(
            str(run_id) if run_id else None, tuple(dict.fromkeys(tags or ())), own, str(session) if session else None
        )

    def labels(self) -> dict[str, Any]:
        """``RouteOptions`` keys for this run's tags, metadata and session, those that are set."""
        labels = {"tags": self.tags or None, "metadata": self.metadata or None, "session_id": self.session_id}
        return {k: v for k, v in labels.items() if v is not None}


_current: ContextVar[CallerRun | None] = ContextVar("scope_caller_run", default=None)


class RunContext(BaseCallbackHandler):
    """Keeps the run a chat model call starts, for a stream that gets no run manager."""

    run_inline = True

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        _current.set(CallerRun.of(run_id, tags, metadata))


def root_run(run_manager: Any) -> str | None:
    """The id of the run tree's root, where one of the run's handlers is a tracer (LangSmith's, a ``BaseTracer``:
    its ``order_map`` holds each run's trace id); None without one."""
    for handler in run_manager.handlers:
        order = getattr(handler, "order_map", None)
        if isinstance(order, dict) and (entry := order.get(run_manager.run_id)):
            return str(entry[0])
    return None


def caller_run(run_manager: Any) -> CallerRun:
    """The caller's run: from the run manager when there is one, else the one ``RunContext`` kept."""
    if run_manager is not None:
        return CallerRun.of(run_manager.run_id, run_manager.tags, run_manager.metadata, root_run(run_manager))
    return _current.get() or CallerRun()
