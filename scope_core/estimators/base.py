"""The Estimator protocol, the query context every estimator receives, and the optional fitting protocol."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from scope_core.estimators.estimate import Estimate
from scope_core.specs import ModelSpec
from scope_core.store import summary as sm
from scope_core.store.records import Neighbourhood, NeighbourIndex

if TYPE_CHECKING:
    from scope_core.store.behaviour import BehaviourStore


@dataclass(frozen=True)
class QueryContext:
    """Everything known about a query before any model runs.

    ``fits``: every estimator fit saved in the store, as JSON by fit name (an estimator reads its own,
    ``FittedEstimator``); ``store``: where the evidence lives, for estimators that read more of it (prompt texts).
    """

    text: str
    embedding: np.ndarray
    input_tokens: int
    neighbours: Neighbourhood
    priors: Mapping[str, sm.Summary]
    fits: Mapping[str, str] = field(default_factory=dict)
    store: BehaviourStore | None = None


@runtime_checkable
class Estimator(Protocol):
    """Predicts, for each candidate, P(correct), output tokens and cost on a query.

    Implementations may be slow (an LLM reasoning estimator): the router awaits ``aestimate``
    from async code, so only ``estimate`` must be written for fast local estimators.
    """

    name: str

    def estimate(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> list[Estimate]: ...

    async def aestimate(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> list[Estimate]: ...


class Fit(Protocol):
    """What an estimator fitted on a store: saved as JSON, described in one line (``scope fit``, ``scope stats``)."""

    def model_dump_json(self) -> str: ...

    def describe(self) -> str: ...


@runtime_checkable
class FittedEstimator(Protocol):
    """An estimator that fits itself on a store's outcomes (``router.fit()``, after an ingest or a profile).

    Its fit is saved in the store's registry under ``fit_name`` (estimators sharing a fit share the name) and
    reaches every process's queries in ``QueryContext.fits``; ``load_fit`` reads it back.
    """

    fit_name: str

    def fit(self, store: BehaviourStore, *, k: int, index: NeighbourIndex | None = None) -> Fit | None: ...

    def load_fit(self, saved: str) -> Fit: ...


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
