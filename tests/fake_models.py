"""Local fake models that answer the shipped anchors: right on the subjects they know, wrong elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from scope_core.profiling.anchors import MULTIPLE_CHOICE_INSTRUCTION, shipped_anchors

GOLD = {a.prompt: (a.subject, a.gold) for a in shipped_anchors()}


def anchor_reply(prompt: str, known: frozenset[str]) -> str:
    """The answer of a model that knows ``known`` subjects: the gold letter there, a wrong one elsewhere."""
    subject, gold = GOLD.get(prompt.removesuffix(MULTIPLE_CHOICE_INSTRUCTION), (None, "A"))
    letter = gold if subject in known else ("B" if gold == "A" else "A")
    return f"Let me think it through. The answer is ({letter})."


class SubjectExpert(BaseChatModel):
    """A LangChain chat model that knows some subjects; it reports token usage and counts its calls."""

    model_name: str = "expert"
    known: frozenset[str] = frozenset()
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "subject-expert"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any):
        """Tools may be bound (an agent's model); it answers in text all the same."""
        return self.bind(tools=list(tools), **kwargs)

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        self.calls += 1
        prompt = str(messages[-1].content)
        text = anchor_reply(prompt, self.known)
        usage = {"input_tokens": len(prompt) // 4, "output_tokens": 12, "total_tokens": len(prompt) // 4 + 12}
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text, usage_metadata=usage))])
