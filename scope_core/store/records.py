"""What the store takes in and hands out, free of Chroma: a prompt's record, a query's neighbourhood, the
registry snapshot, the protocol of anything that finds neighbours, and an outcome as its stored metadata."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from scope_core.outcome import Outcome
from scope_core.specs import ModelSpec
from scope_core.store import summary as sm
from scope_core.store.priors import DELTA_PREFIX


@dataclass(frozen=True)
class PromptInfo:
    """What the store keeps of a prompt besides outcomes."""

    hash: str
    embedding: np.ndarray
    tokens: int
    text: str | None = None
    task: str | None = None


@dataclass(frozen=True)
class Neighbourhood:
    """The k nearest stored prompts of a query, with every model's summary on each."""

    ids: list[str]
    similarities: np.ndarray
    tokens: np.ndarray
    stats: list[Mapping[str, Sequence[float]]]  # per neighbour: model -> summary

    @classmethod
    def empty(cls) -> Neighbourhood:
        """No neighbours (a degraded route searches on nothing)."""
        return cls(ids=[], similarities=np.zeros(0), tokens=np.zeros(0), stats=[])


@dataclass(frozen=True)
class Registry:
    """The model registry as one snapshot: specs, global priors, and each estimator's saved fit (JSON, by the
    estimator's ``fit_name``)."""

    specs: dict[str, ModelSpec]
    priors: dict[str, sm.Summary]
    fits: dict[str, str] = field(default_factory=dict)


class NeighbourIndex(Protocol):
    """Anything that finds a query's stored neighbours (``BehaviourStore``, ``MemoryIndex``)."""

    def nearest(self, embedding: np.ndarray, k: int) -> Neighbourhood: ...


BATCH = 256  # ids per Chroma call: keeps SQL variable counts low
LEGACY_FIT = "__fit__"  # the fit record of stores written before estimators owned their fits: ignored
FIT_PREFIX = "__fit__/"  # registry records holding each estimator's fit (by its fit_name), never a model name


def reserved(record_id: str) -> bool:
    """Whether a registry record id is the store's own (a fit or a priors delta), never a model."""
    return record_id == LEGACY_FIT or record_id.startswith((FIT_PREFIX, DELTA_PREFIX))


def meta_of(outcome: Outcome) -> dict[str, object]:
    fields = {
        "p": outcome.prompt_hash,
        "m": outcome.model,
        "s": outcome.score,
        "it": outcome.input_tokens,
        "ot": outcome.output_tokens,
        "c": outcome.cost_usd,
        "lat": outcome.latency_s,
        "cr": outcome.cache_read_tokens,
        "cw": outcome.cache_write_tokens,
        "ttft": outcome.ttft_s,
        "err": outcome.error,
        "task": outcome.task,
        "src": outcome.source,
        "ts": outcome.timestamp,
    }
    return {k: v for k, v in fields.items() if v is not None}


def same_meta(a: Mapping[str, object] | None, b: Mapping[str, object]) -> bool:
    """Equal outcome metadata, floats compared as Chroma returns them (reduced precision)."""
    if a is None or a.keys() != b.keys():
        return False
    return all(
        math.isclose(a[k], b[k], rel_tol=1e-6, abs_tol=1e-12) if isinstance(b[k], float) else a[k] == b[k] for k in b
    )


def same_stats(a: Mapping[str, Sequence[float]], b: Mapping[str, Sequence[float]]) -> bool:
    """Equal packed summaries, up to the rounding of ``summary.dumps``."""
    if a.keys() != b.keys():
        return False
    return all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6) for m in b for x, y in zip(a[m], b[m], strict=True))


def summary_delta(new: Mapping[str, Mapping[str, sm.Summary]], old: Mapping) -> dict[str, sm.Summary]:
    """Per model: the summaries of the new records minus those of the records they replace."""
    delta: dict[str, sm.Summary] = {}
    for per_model in new.values():
        sm.merge(delta, per_model)
    for per_model in old.values():
        sm.merge(delta, per_model, sign=-1.0)
    return delta


def batches(items: Sequence, size: int = BATCH) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
