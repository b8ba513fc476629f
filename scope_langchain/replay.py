"""ReplayChatModel: answers with a model's recorded responses from an outcome data set (no API key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from scope_core import Dataset, text_hash
from scope_core.routing.candidate import Candidate


@dataclass(frozen=True)
class Recorded:
    """One recorded answer: the response text, its token counts, cost and graded score."""

    response: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    score: float


class ReplayChatModel(BaseChatModel):
    """Replays ``model_name``'s recorded answer to the last user message (matched by exact text)."""

    model_name: str
    answers: dict[str, Recorded] = Field(repr=False, description="prompt text hash -> recorded answer")

    @classmethod
    def from_dataset(cls, dataset: Dataset, model: str) -> ReplayChatModel:
        text_of = {p.id: p.text for p in dataset.prompts}
        answers = {
            text_hash(text_of[o.prompt_id]): Recorded(
                o.response or "", o.input_tokens or 0, o.output_tokens or 0, o.cost_usd, o.score
            )
            for o in dataset.outcomes
            if o.model == model
        }
        return cls(model_name=model, answers=answers)

    @property
    def _llm_type(self) -> str:
        return "replay"

    def recorded(self, messages: Sequence[BaseMessage]) -> Recorded:
        prompt = next((m.text for m in reversed(messages) if m.type == "human"), "")
        found = self.answers.get(text_hash(prompt))
        if found is None:
            raise LookupError(f"{self.model_name} has no recorded answer to this prompt: {prompt[:80]!r}")
        return found

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        got = self.recorded(messages)
        usage = UsageMetadata(
            input_tokens=got.input_tokens,
            output_tokens=got.output_tokens,
            total_tokens=got.input_tokens + got.output_tokens,
        )
        meta = {"model_name": self.model_name, "recorded_cost_usd": got.cost_usd, "recorded_score": got.score}
        message = AIMessage(content=got.response or " ", usage_metadata=usage, response_metadata=meta)
        return ChatResult(generations=[ChatGeneration(message=message)])


def replay_candidates(dataset: Dataset, models: Sequence[str] | None = None) -> list[Candidate]:
    """A replay candidate per model of a data set, priced as the data set's specs say."""
    names = dataset.models if models is None else list(models)
    return [Candidate(model=ReplayChatModel.from_dataset(dataset, m), spec=dataset.specs[m]) for m in names]
