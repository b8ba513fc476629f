"""ScopeFeedbackHandler: collects the routed calls of a run so a quality score can be attached later."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import LLMResult

from scope_core import Router


class ScopeFeedbackHandler(BaseCallbackHandler):
    """Pass as a callback to a chain or agent; then ``feedback(score)`` scores its routed calls.

    ``evaluator`` (optional) scores each routed reply as it arrives: ``evaluator(reply) -> score | None``.
    The evaluator's scores are queued after the call's own record (``router.feedback(..., wait=False)``).
    """

    def __init__(self, router: Router, evaluator: Callable[[AIMessage], float | None] | None = None) -> None:
        super().__init__()
        self.router, self.evaluator = router, evaluator
        self.run_ids: list[str] = []
        self._lock = threading.Lock()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        generations = [g for batch in response.generations for g in batch]
        message = getattr(generations[0], "message", None) if generations else None
        if not isinstance(message, AIMessage) or "scope" not in message.response_metadata:
            return  # not a routed call
        with self._lock:
            self.run_ids.append(str(run_id))
        if self.evaluator is not None:
            score = self.evaluator(message)
            if score is not None:
                self._submit(str(run_id), score)

    def feedback(self, score: float, run_id: str | UUID | None = None) -> list[str]:
        """Score one routed call, or every call seen so far; returns the run ids scored. Waits for the
        calls' records; an unknown id raises ``UnknownRunError``."""
        with self._lock:
            ids = [str(run_id)] if run_id is not None else list(self.run_ids)
        for rid in ids:
            self.router.feedback(rid, score)
        return ids

    def _submit(self, run_id: str, score: float) -> None:
        self.router.feedback(run_id, score, wait=False)
