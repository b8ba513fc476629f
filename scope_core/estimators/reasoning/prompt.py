"""The reasoning estimator's prompt, in SCOPE's format (``Cooolder/SCOPE`` and ``SCOPE_NoCoT``).

For one target model: the model's id, ``k`` neighbour questions that model has a scored outcome on,
each with ``Performance: {len: N, correct: yes/no}`` from that model's own outcome, the target question,
and the strict output format. Questions are cut to a token budget, keeping their head and tail (a long
few-shot prompt ends with the question at hand).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from scope_core.store import summary as sm
from scope_core.store.records import Neighbourhood

DEFAULT_EXAMPLES = 5  # neighbour examples per prompt, as SCOPE was trained
EXAMPLE_TOKENS = 256  # budget of one example question
QUESTION_TOKENS = 1024  # budget of the target question
ELISION = "\n[...]\n"

_TASK = (
    "You are a performance prediction expert. Given a target question, {n} anchor questions with their "
    "performance results, and a target AI model, predict how the model will perform on the target question, "
    "specifically the output length and correctness{after}."
)
_FORMAT_COT = (
    "Analysis: [Your comprehensive analysis covering anchor patterns, target question characteristics, "
    "and reasoning.]\nPredicted Performance: {len: [integer], correct: [yes/no]}"
)
_FORMAT_NO_COT = "Predicted Performance: {len: [integer], correct: [yes/no]}"


@dataclass(frozen=True)
class Example:
    """One neighbour question and the target model's recorded performance on it."""

    prompt_id: str
    similarity: float
    question: str
    length: int
    correct: bool


@lru_cache(maxsize=1)
def _encoding():
    import bpe_openai

    return bpe_openai.get_encoding("cl100k_base")


@lru_cache(maxsize=8192)  # the same neighbour questions recur across candidates and queries
def truncate(text: str, budget: int) -> str:
    """``text`` cut to about ``budget`` cl100k tokens: its first and last halves around an elision mark."""
    tokens = _encoding().encode(text)
    if len(tokens) <= budget:
        return text
    head = budget // 2
    enc = _encoding()
    return enc.decode(tokens[:head]).rstrip() + ELISION + enc.decode(tokens[len(tokens) - (budget - head) :]).lstrip()


def example_ids(neighbours: Neighbourhood, model: str, limit: int) -> list[str]:
    """Ids of the first ``limit`` neighbours (closest first) where ``model`` has a scored outcome."""
    out = []
    for prompt_id, stats in zip(neighbours.ids, neighbours.stats, strict=True):
        summary = stats.get(model)
        if summary is not None and summary[sm.N_SCORED] > 0:
            out.append(prompt_id)
            if len(out) == limit:
                break
    return out


def examples_for(
    neighbours: Neighbourhood,
    model: str,
    texts: Mapping[str, str],
    k: int = DEFAULT_EXAMPLES,
    *,
    default_length: float = 0.0,
    budget: int = EXAMPLE_TOKENS,
) -> list[Example]:
    """The ``k`` closest neighbours with a stored text where ``model`` has a scored outcome.

    ``len`` is the model's mean recorded output tokens there (``default_length`` where none was
    recorded); ``correct`` is a mean score of at least 0.5.
    """
    out = []
    for prompt_id, similarity, stats in zip(neighbours.ids, neighbours.similarities, neighbours.stats, strict=True):
        summary = stats.get(model)
        text = texts.get(prompt_id)
        if summary is None or summary[sm.N_SCORED] <= 0 or not text:
            continue
        length = summary[sm.OUT_SUM] / summary[sm.N_USAGE] if summary[sm.N_USAGE] > 0 else default_length
        correct = summary[sm.SCORE_SUM] / summary[sm.N_SCORED] >= 0.5
        out.append(Example(prompt_id, float(similarity), truncate(text, budget), round(length), correct))
        if len(out) == k:
            break
    return out


def build_prompt(
    model: str, examples: Sequence[Example], question: str, *, no_cot: bool = False, budget: int = QUESTION_TOKENS
) -> str:
    """The full SCOPE prompt for ``model`` on ``question`` (the CoT form asks for an analysis first)."""
    shown = "".join(
        f"Example {i}:\nQuestion: {e.question}\nPerformance: {{len: {e.length}, correct: {'yes' if e.correct else 'no'}}}\n\n"
        for i, e in enumerate(examples, 1)
    )
    task = _TASK.format(n=len(examples), after="" if no_cot else " after related reasoning analysis")
    return (
        f"### Task\n{task}\n\n### Target Model\n{model}\n\n{shown}### Target Question\n{truncate(question, budget)}\n\n"
        f"### Output Format (STRICT)\n{_FORMAT_NO_COT if no_cot else _FORMAT_COT}\n\n### Output:"
    )
