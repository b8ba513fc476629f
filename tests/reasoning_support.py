"""Shared pieces of the reasoning-estimator tests: a scripted estimator LLM and a fixed neighbourhood."""

from __future__ import annotations

import re
import threading
import time

import numpy as np

from scope_core.store.records import Neighbourhood

TARGET = re.compile(r"### Target Model\n(.+)\n")


def target_model(prompt: str) -> str:
    """The model a SCOPE prompt asks about."""
    match = TARGET.search(prompt)
    assert match, prompt
    return match.group(1)


class ScriptedReasoner:
    """A callable estimator LLM: replies ``replies[model]`` (a string) for the prompt's target model,
    after ``delay_s``; records every prompt and the threads it was called on."""

    def __init__(self, replies: dict[str, str], delay_s: float = 0.0, error: Exception | None = None) -> None:
        self.replies, self.delay_s, self.error = replies, delay_s, error
        self.prompts: list[str] = []
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self, prompt: str) -> str:
        with self._lock:
            self.prompts.append(prompt)
            self.threads.add(threading.get_ident())
        time.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        return self.replies[target_model(prompt)]


def verdict(length: int, correct: bool) -> str:
    """A strict SCOPE reply."""
    return f"Analysis: scripted.\nPredicted Performance: {{len: {length}, correct: {'yes' if correct else 'no'}}}"


def neighbourhood(rows: list[tuple[str, float, dict[str, list[float]]]]) -> Neighbourhood:
    """A neighbourhood of (id, similarity, {model: summary}) rows, closest first."""
    return Neighbourhood(
        ids=[r[0] for r in rows],
        similarities=np.asarray([r[1] for r in rows], dtype=np.float64),
        tokens=np.full(len(rows), 30.0),
        stats=[r[2] for r in rows],
    )
