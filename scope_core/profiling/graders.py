"""Graders: score a model's reply against a gold answer, for profiling on anchors.

A grader is any callable ``(reply, gold) -> float`` in [0, 1]. Shipped: multiple-choice letter
extraction, exact match, regex, and a judge-model wrapper.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

_PATTERNS = [
    r"answer\s*(?:is|:)?\s*[:\s]*\(?\**\s*([A-Z])\b",  # "The answer is (C)", "Answer: c"
    r"\*\*\(?([A-Z])\)?\*\*",  # "**C**"
    r"^\s*\(?([A-Z])\)",  # "C)" or "(C)" at the start
    r"^\s*([A-Z])\s*[.:]?\s*$",  # a bare letter
]


class Grader(Protocol):
    """Scores a reply against the gold answer, in [0, 1]."""

    def __call__(self, reply: str, gold: str) -> float: ...


def extract_letter(reply: str, letters: str = "ABCDEFGHIJ") -> str | None:
    """The option letter a reply picks, or None when it names none."""
    for pattern in _PATTERNS:
        for flags in (re.MULTILINE, re.MULTILINE | re.IGNORECASE):
            match = re.search(pattern, reply, flags)
            if match and match.group(1).upper() in letters:
                return match.group(1).upper()
    return None


def multiple_choice(reply: str, gold: str) -> float:
    """1.0 when the extracted option letter equals the gold letter."""
    return float(extract_letter(reply) == gold.strip().upper())


def exact_match(reply: str, gold: str) -> float:
    """1.0 when the stripped, case-folded reply equals the gold answer."""
    return float(reply.strip().casefold() == gold.strip().casefold())


def regex(pattern: str) -> Grader:
    """A grader: 1.0 when ``pattern`` (with ``{gold}`` filled in, escaped) matches the reply."""

    def grade(reply: str, gold: str) -> float:
        return float(re.search(pattern.format(gold=re.escape(gold)), reply, re.IGNORECASE) is not None)

    return grade


def judge(ask: Callable[[str], str]) -> Grader:
    """A grader asking a judge model ``ask(prompt) -> text`` whether the reply matches the gold answer."""

    def grade(reply: str, gold: str) -> float:
        verdict = ask(f"Gold answer: {gold}\nReply: {reply}\nDoes the reply give the gold answer? Answer yes or no.")
        return float(verdict.strip().lower().startswith("yes"))

    return grade
