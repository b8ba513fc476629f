"""Parse an estimator LLM's reply into a predicted length, correctness and, if given, a probability.

Levels, from most to least trusted (``Prediction.confidence``):

- ``STRICT`` (1.0): the last non-empty line is ``Predicted Performance: {len: <int>, correct: <yes/no>}``;
- ``LOOSE`` (0.75): both fields found elsewhere or in another spelling (JSON, markdown, ``length``,
  ``true``/``false``), preferring the text after the last ``Predicted Performance`` mention;
- ``PARTIAL`` (0.5): only one of the two fields found; the other is ``None``.

A probability (``probability: 0.8``, ``p_correct=0.8``, ``confidence: 80%``) is kept when present.
Nothing found: ``parse_prediction`` returns None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STRICT, LOOSE, PARTIAL = 1.0, 0.75, 0.5

_STRICT = re.compile(
    r"^\W*predicted\s+performance\W*:\s*\{\s*len\s*:\s*(\d+)\s*,\s*correct\s*:\s*(yes|no)\s*\}\W*$", re.IGNORECASE
)
_MARK = re.compile(r"predicted\s+performance", re.IGNORECASE)
_LEN = re.compile(r"\b(?:len|length|tokens|output_tokens)\b[\"'*\s]*[:=][\"'*\s]*(\d[\d,]*)", re.IGNORECASE)
_CORRECT = re.compile(r"\b(?:correct|correctness)\b[\"'*\s]*[:=][\"'*\s]*(yes|no|true|false)\b", re.IGNORECASE)
_PROB = re.compile(
    r"\b(?:probability|prob|p_correct|p\(correct\)|confidence)\b[\"'*\s]*[:=][\"'*\s]*(\d*\.?\d+)\s*(%?)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Prediction:
    """What the estimator LLM predicted for one (query, model); a field it did not give is None."""

    length: int | None
    correct: bool | None
    probability: float | None
    confidence: float

    @property
    def p_correct(self) -> float | None:
        """The stated probability, else 1.0 for yes and 0.0 for no, else None."""
        if self.probability is not None:
            return self.probability
        return None if self.correct is None else float(self.correct)


def _last(pattern: re.Pattern, text: str) -> re.Match | None:
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


def _probability(text: str) -> float | None:
    match = _last(_PROB, text)
    if match is None:
        return None
    value = float(match.group(1))
    value = value / 100.0 if match.group(2) or value > 1.0 else value
    return value if 0.0 <= value <= 1.0 else None


def parse_prediction(text: str) -> Prediction | None:
    """The prediction in an LLM reply (see the module docstring for the levels), or None."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    probability = _probability(text)
    strict = _STRICT.match(lines[-1].strip()) if lines else None
    if strict:
        return Prediction(int(strict.group(1)), strict.group(2).lower() == "yes", probability, STRICT)
    marks = list(_MARK.finditer(text))
    tail = text[marks[-1].start() :] if marks else text
    length = _last(_LEN, tail) or _last(_LEN, text)
    correct = _last(_CORRECT, tail) or _last(_CORRECT, text)
    if length is None and correct is None and probability is None:
        return None
    n = int(length.group(1).replace(",", "")) if length else None
    ok = correct.group(1).lower() in ("yes", "true") if correct else None
    has_correctness = ok is not None or probability is not None
    return Prediction(n, ok, probability, LOOSE if n is not None and has_correctness else PARTIAL)
