"""Latency of each model, predicted from its observed outcomes: time to first token, and total time as a line in
the output length (``first + per_token * output_tokens``), fitted on decayed sums so recent calls weigh most.

The book learns from every outcome this router records (its calls, ``Router.record``) and, the first time it
predicts for a model, from up to ``SEED_LIMIT`` of the model's stored outcomes that carry a latency. A model
without any falls back on its ``ModelSpec.latency_s``, else its latency is unknown (None).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scope_core.errors import StoreError
from scope_core.specs import ModelSpec

DECAY = 0.995  # each observation keeps this share of the weight of those before it (half-life ~140 calls)
SEED_LIMIT = 256  # stored outcomes read per model, once


@dataclass(frozen=True)
class LatencyFit:
    """A model's predicted latency: ``first_s`` to its first token (None: unknown), ``base_s`` plus ``per_token_s``
    per output token in all."""

    first_s: float | None
    base_s: float
    per_token_s: float = 0.0

    def total(self, output_tokens: float) -> float:
        return self.base_s + self.per_token_s * output_tokens


@dataclass
class _Sums:
    n: float = 0.0
    x: float = 0.0  # output tokens
    y: float = 0.0  # total latency
    xx: float = 0.0
    xy: float = 0.0
    first_n: float = 0.0
    first: float = 0.0

    def add(self, latency_s: float, output_tokens: float, ttft_s: float | None) -> None:
        for name in ("n", "x", "y", "xx", "xy"):
            setattr(self, name, getattr(self, name) * DECAY)
        self.n, self.x, self.y = self.n + 1, self.x + output_tokens, self.y + latency_s
        self.xx, self.xy = self.xx + output_tokens**2, self.xy + output_tokens * latency_s
        if ttft_s is not None:
            self.first_n, self.first = self.first_n * DECAY + 1, self.first * DECAY + ttft_s

    def fit(self) -> LatencyFit:
        mean_x, mean_y = self.x / self.n, self.y / self.n
        var = self.xx / self.n - mean_x**2
        slope = max((self.xy / self.n - mean_x * mean_y) / var, 0.0) if self.n >= 3 and var > 1.0 else 0.0
        first = self.first / self.first_n if self.first_n else None
        return LatencyFit(first, max(mean_y - slope * mean_x, 0.0), slope)


class LatencyBook:
    """Per model: decayed sums of its observed latencies (thread-safe); ``store``: where the models' outcomes are
    stored (a ``BehaviourStore``: its ``timed_outcomes``), None: only what this book observes."""

    def __init__(self, store: Any = None) -> None:
        self.store = store if hasattr(store, "timed_outcomes") else None
        self._sums: dict[str, _Sums] = {}
        self._seeded: set[str] = set()
        self._lock = threading.Lock()

    def observe(self, model: str, latency_s: float | None, output_tokens: float | None, ttft_s: float | None) -> None:
        """One answer's latency (an outcome without one, or without output tokens, tells nothing)."""
        if latency_s is None or output_tokens is None:
            return
        with self._lock:
            self._sums.setdefault(model, _Sums()).add(latency_s, output_tokens, ttft_s)

    def fits(self, candidates: Sequence[ModelSpec], store_down: bool = False) -> dict[str, LatencyFit]:
        """Each candidate's fit, where its latency is known; a model not yet seeded is, unless the store is down."""
        if not store_down and self.store is not None:
            with self._lock:
                todo = [s.name for s in candidates if s.name not in self._seeded]
                self._seeded.update(todo)
            for name in todo:
                self._seed(name)
        out = {}
        with self._lock:
            for spec in candidates:
                sums = self._sums.get(spec.name)
                if sums is not None and sums.n > 0:
                    out[spec.name] = sums.fit()
                elif spec.latency_s is not None:
                    out[spec.name] = LatencyFit(None, spec.latency_s)
        return out

    def _seed(self, model: str) -> None:
        """Learn from the model's stored outcomes, once (a store that fails to answer leaves it to the calls)."""
        records: list[Mapping[str, object]] = []
        with contextlib.suppress(StoreError):
            records = [r for r in self.store.timed_outcomes(model, SEED_LIMIT) if "err" not in r]
        for r in records:
            ttft = r.get("ttft")
            self.observe(model, float(r["lat"]), float(r.get("ot", 0.0)), None if ttft is None else float(ttft))
