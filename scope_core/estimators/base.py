"""The Estimator protocol and the query context every estimator receives."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from .. import summary as sm
from ..decision import Estimate
from ..fit import StoreFit
from ..imputer import Imputer
from ..specs import ModelSpec
from ..store import Neighbourhood


@dataclass(frozen=True)
class QueryContext:
    """Everything known about a query before any model runs."""

    text: str
    embedding: np.ndarray
    input_tokens: int
    neighbours: Neighbourhood
    priors: Mapping[str, sm.Summary]
    imputers: Mapping[str, Imputer] = field(default_factory=dict)
    fit: StoreFit | None = None


@runtime_checkable
class Estimator(Protocol):
    """Predicts, for each candidate, P(correct), output tokens and cost on a query.

    Implementations may be slow (an LLM reasoning estimator): the router awaits ``aestimate``
    from async code, so only ``estimate`` must be written for fast local estimators.
    """

    name: str

    def estimate(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> list[Estimate]: ...

    async def aestimate(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> list[Estimate]: ...


class LocalEstimator:
    """Base for fast in-process estimators: the async form runs the sync one inline."""

    name = "local"

    def estimate(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> list[Estimate]:
        raise NotImplementedError

    async def aestimate(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> list[Estimate]:
        await asyncio.sleep(0)
        return self.estimate(query, candidates)


def evidence_matrix(neighbours: Neighbourhood, models: Sequence[str]) -> np.ndarray:
    """Stack neighbour summaries into an array of shape (k, len(models), summary width)."""
    empty = sm.empty()
    rows = ([per_model.get(m, empty) for m in models] for per_model in neighbours.stats)
    flat = itertools.chain.from_iterable(itertools.chain.from_iterable(rows))
    count = len(neighbours.stats) * len(models) * sm.WIDTH
    return np.fromiter(flat, dtype=np.float64, count=count).reshape(len(neighbours.stats), len(models), sm.WIDTH)


def prior_matrix(priors: Mapping[str, sm.Summary], models: Sequence[str]) -> np.ndarray:
    """Global summaries of the candidates, shape (len(models), summary width)."""
    return np.asarray([priors.get(m) or sm.empty() for m in models], dtype=np.float64)
