"""ScopeSelector: RouterQueryEngine picks a query engine by predicted quality and cost, not by an LLM prompt."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.base_selector import BaseSelector, SelectorResult, SingleSelection
from llama_index.core.prompts.mixin import PromptDictType
from llama_index.core.schema import QueryBundle
from llama_index.core.tools.types import ToolMetadata

from scope_core import Decision, Router

from .events import ScopeCallEndEvent, note_call


class ScopeSelector(BaseSelector):
    """Each choice is a model in the router's registry, named by its tool name.

    Register one ModelSpec per query engine (prices: what a query through it costs); the router then
    predicts each engine's quality on the query from past outcomes. With ``record`` every selection is
    stored under a run id (see ``capture_calls``) so ``router.feedback(run_id, score)`` teaches it.
    """

    def __init__(
        self,
        router: Router,
        *,
        alpha: float | None = None,
        max_cost: float | None = None,
        min_accuracy: float | None = None,
        record: bool = True,
    ) -> None:
        self.router, self.record = router, record
        self.overrides = {"alpha": alpha, "max_cost": max_cost, "min_accuracy": min_accuracy}

    def _get_prompts(self) -> dict[str, Any]:
        return {}

    def _update_prompts(self, prompts: PromptDictType) -> None:
        """No prompts: the selection is not made by an LLM."""

    @staticmethod
    def _names(choices: Sequence[ToolMetadata]) -> list[str]:
        names = [c.name for c in choices]
        if any(not n for n in names):
            raise ValueError("ScopeSelector needs named choices (the tool names of registered models)")
        return names  # type: ignore[return-value]

    def _result(self, decision: Decision, names: list[str], text: str) -> SelectorResult:
        if self.record:
            run_id = uuid.uuid4().hex
            self.router.record_call(decision, text, decision.chosen, run_id=run_id, wait=False)
            note_call(
                ScopeCallEndEvent(run_id=run_id, model=decision.chosen, routing_text=text, decision=decision, attempt=0)
            )
        return SelectorResult(selections=[SingleSelection(index=names.index(decision.chosen), reason=decision.reason)])

    def _select(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> SelectorResult:
        names = self._names(choices)
        decision = self.router.route(query.query_str, allowed=names, **self.overrides)
        return self._result(decision, names, query.query_str)

    async def _aselect(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> SelectorResult:
        names = self._names(choices)
        decision = await self.router.aroute(query.query_str, allowed=names, **self.overrides)
        return self._result(decision, names, query.query_str)
