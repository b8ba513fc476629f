"""ScopeSelector: RouterQueryEngine picks a query engine by predicted quality and cost, not by an LLM prompt."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.base_selector import BaseSelector, SelectorResult, SingleSelection
from llama_index.core.prompts.mixin import PromptDictType
from llama_index.core.schema import QueryBundle
from llama_index.core.tools.types import ToolMetadata

from scope_core import Router
from scope_core.routing.call import RoutedCall
from scope_core.routing.policy import RouteOptions
from scope_llamaindex.events import call_ended


class ScopeSelector(BaseSelector):
    """Each choice is a model in the router's registry, named by its tool name.

    Register one ModelSpec per query engine (prices: what a query through it costs); the router then
    predicts each engine's quality on the query from past outcomes. Routing options (``RouteOptions``) apply to
    every selection. With ``record`` every selection is a routed call recorded under a run id (see
    ``capture_calls``) so ``router.feedback(run_id, score)`` teaches it.
    """

    def __init__(self, router: Router, *, record: bool = True, **routing: Any) -> None:
        self.router, self.record = router, record
        self.routing = RouteOptions.build(routing)

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

    def _result(self, call: RoutedCall, names: list[str]) -> SelectorResult:
        """The chosen engine; the selection itself is the call's one attempt (the engine's answer is not seen)."""
        call.succeeded(next(iter(call)))
        chosen = call.decision.chosen
        return SelectorResult(selections=[SingleSelection(index=names.index(chosen), reason=call.decision.reason)])

    def _keys(self, names: list[str]) -> dict[str, Any]:
        return {"pool": names, "record": self.record, "on_end": call_ended}

    def _select(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> SelectorResult:
        names = self._names(choices)
        return self._result(self.router.start(query.query_str, self.routing, **self._keys(names)), names)

    async def _aselect(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> SelectorResult:
        names = self._names(choices)
        return self._result(await self.router.astart(query.query_str, self.routing, **self._keys(names)), names)
