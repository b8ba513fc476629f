"""The store's upkeep, as Router methods (``RouterUpkeep`` is one of Router's bases): where it stands, the decision
log read back, ingests, repair and the estimator's fit, each done in its own room."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scope_core.estimators.base import Estimator, Fit, FittedEstimator
from scope_core.observe.history import history, window_report
from scope_core.routing.status import RouterStatus, router_status
from scope_core.store.frozen import FrozenStore

if TYPE_CHECKING:
    from scope_core.data.dataset import Dataset
    from scope_core.observe.record import LoggedDecision
    from scope_core.observe.report import Report
    from scope_core.routing.store_view import StoreView
    from scope_core.store.behaviour import BehaviourStore
    from scope_core.store.journal import Journal
    from scope_core.store.recorder import Recorder
    from scope_core.store.records import NeighbourIndex


class RouterUpkeep:
    """Status, history, report, ingest, repair and fit of a Router (its store, view, recorder and estimator)."""

    store: BehaviourStore
    view: StoreView
    recorder: Recorder
    journal: Journal
    estimator: Estimator
    k: int

    def status(self) -> RouterStatus:
        """Where the store, the journal and the registry stand (``scope_core.routing.status``)."""
        return router_status(self.store, self.journal, self.view, self.recorder)

    def history(self, **window: Any) -> list[LoggedDecision]:
        """The logged decisions of a window (``since``, ``until``: Unix time, datetime, ``"24h"``...; ``tags``,
        ``model``, ``session_id``), oldest first (``scope_core.observe.history``)."""
        self.recorder.writer.flush()
        return history(self.store, **window)

    def report(self, **window: Any) -> Report:
        """The report of a window of logged decisions (``scope_core.observe.report``; ``scope report``)."""
        self.recorder.writer.flush()
        return window_report(self.store, **window)

    def ingest(self, dataset: Dataset, **options: Any) -> int:
        """Register a data set's models and store its outcomes (``scope_core.data.ingest``)."""
        from scope_core.data.ingest import ingest

        return ingest(self, dataset, **options)  # type: ignore[arg-type]

    def repair(self) -> int:
        """Re-derive every prompt summary and model prior from the outcome records (``scope repair``); returns
        how many summaries were wrong. Run it while no other process writes to the store."""
        fixed = self.store.repair()
        self.view.invalidate()
        return fixed

    def fit(self) -> Fit | None:
        """Fit the estimator on the store's outcomes, saved for every process (None: the estimator fits nothing)."""
        if not isinstance(self.estimator, FittedEstimator):
            return None
        return self.save_fit(self.estimator.fit(self.store, k=self.k, index=self.view.index))

    def fit_job(self) -> tuple[FittedEstimator, FrozenStore, int, NeighbourIndex | None] | None:
        """What ``fit`` needs to run elsewhere (the background refit's worker): the estimator, a frozen copy of the
        store, k and the router's index; None when the estimator fits nothing."""
        if not isinstance(self.estimator, FittedEstimator):
            return None
        return self.estimator, FrozenStore.of(self.store), self.k, self.view.index

    def save_fit(self, fitted: Fit | None) -> Fit | None:
        """Save a fit of this router's estimator for every process (None: nothing to save); returns it."""
        if fitted is not None and isinstance(self.estimator, FittedEstimator):
            self.store.put_fit(self.estimator.fit_name, fitted.model_dump_json())
            self.view.invalidate()
        return fitted
