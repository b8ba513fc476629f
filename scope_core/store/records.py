"""What the store takes in and hands out, free of Chroma: a prompt's record, a query's neighbourhood, the
registry snapshot, and the protocol of anything that finds neighbours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from scope_core.specs import ModelSpec
from scope_core.store.summary import Summary


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
    priors: dict[str, Summary]
    fits: dict[str, str] = field(default_factory=dict)


class NeighbourIndex(Protocol):
    """Anything that finds a query's stored neighbours (``BehaviourStore``, ``MemoryIndex``)."""

    def nearest(self, embedding: np.ndarray, k: int) -> Neighbourhood: ...
