"""Refit as traffic flows: a background thread refits the router's estimator on its store once ``every`` new
scored outcomes have arrived (across every process sharing the store), never on the route path.

It looks at the store's scored-outcome count every ``check_s`` seconds (one registry read). A refit reads a frozen
copy of the store (``FrozenStore``) on that thread, fits on it in a fresh Python process at the lowest CPU priority
(``fit_worker``: the fit's Python never holds this process's interpreter lock, so routes do not wait on it), and
saves the fit for every route that starts after. With ``processes=False``, or where the worker cannot run (an
estimator that cannot be pickled, no Python executable), the fit runs on the thread itself, at the lowest priority
too. Stop it with ``stop()``: a fit under way in a worker is ended.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from typing import TYPE_CHECKING

from scope_core.errors import ScopeError
from scope_core.store import summary as sm

if TYPE_CHECKING:
    from scope_core.estimators.base import Fit, FittedEstimator
    from scope_core.routing.upkeep import RouterUpkeep
    from scope_core.store.behaviour import BehaviourStore
    from scope_core.store.frozen import FrozenStore
    from scope_core.store.records import NeighbourIndex

log = logging.getLogger("scope_core")
BACKGROUND_NICE = 19  # the refit's nice value, thread or worker: routes get the cores first
POLL_S = 0.2  # how often a thread waiting on its worker looks whether it was stopped


def lowest_priority() -> None:
    """Lower the calling thread's CPU priority to ``BACKGROUND_NICE`` (threads it starts later inherit it; a no-op
    where that cannot be set)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


def scored_outcomes(store: BehaviourStore) -> int:
    """How many scored outcomes ``store`` holds (from its priors)."""
    return int(sum(prior[sm.N_SCORED] for prior in store.priors().values()))


class WorkerError(ScopeError):
    """The fit's worker process failed."""


def fit_in_worker(
    estimator: FittedEstimator,
    store: FrozenStore,
    k: int,
    index: NeighbourIndex | None,
    stop: threading.Event | None = None,
) -> Fit | None:
    """``estimator.fit(store, k=k, index=index)`` in a fresh Python process at the lowest CPU priority; None when
    ``stop`` is set before it is done (the worker is ended). Raises ``pickle.PicklingError`` (or the TypeError or
    AttributeError pickling raises) for what cannot be sent, ``WorkerError`` when the worker fails."""
    with tempfile.TemporaryFile() as job, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pickle.dump((estimator, store, k, index), job, protocol=pickle.HIGHEST_PROTOCOL)
        job.seek(0)
        try:
            worker = subprocess.Popen([sys.executable, "-m", "scope_core.routing.fit_worker"], stdin=job, stdout=out,
                                      stderr=err)  # fmt: skip
        except OSError as exc:
            raise WorkerError(f"cannot start the fit's worker ({sys.executable}): {exc}") from exc
        while True:
            try:
                worker.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                if stop is not None and stop.is_set():
                    worker.kill()
                    worker.wait()
                    return None
        if worker.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise WorkerError(f"the fit's worker exited with {worker.returncode}: {tail[0]}")
        out.seek(0)
        return pickle.load(out)


class Refitter:
    """Keeps a router's fit up to date with its store's traffic (a daemon thread; each fit in a worker process
    unless ``processes`` is False)."""

    def __init__(self, router: RouterUpkeep, every: int, check_s: float = 5.0, *, processes: bool = True) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1 scored outcome, got {every}")
        self.router, self.store, self.every, self.check_s = router, router.store, every, check_s
        self.processes, self.refits = processes, 0
        self._stop = threading.Event()
        self._seen: int | None = None
        self._thread = threading.Thread(target=self._run, name="scope-refit", daemon=True)

    def start(self) -> Refitter:
        """Count the store's scored outcomes now (if it answers), then look every ``check_s`` seconds."""
        with contextlib.suppress(ScopeError):
            self._seen = scored_outcomes(self.store)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop looking, end a fit under way in a worker, and wait for the thread."""
        self._stop.set()
        self._thread.join()

    def check(self) -> bool:
        """Refit if ``every`` scored outcomes arrived since the last look that refitted; whether it refitted."""
        count = scored_outcomes(self.store)
        if self._seen is None:
            self._seen = count
        if count - self._seen < self.every:
            return False
        if not self.refit():
            return False
        self._seen, self.refits = count, self.refits + 1
        return True

    def refit(self) -> bool:
        """One fit now, in a worker process unless ``processes`` is off or a worker cannot run, saved; False when
        stopped before it was done."""
        if not self.processes:
            self.router.fit()
            return True
        job = self.router.fit_job()
        if job is None:
            return True
        try:
            fitted = fit_in_worker(*job, stop=self._stop)
        except (pickle.PicklingError, TypeError, AttributeError, WorkerError) as exc:
            log.warning("scope-router: the refit runs on its thread (%s)", exc)
            self.processes = False
            self.router.fit()
            return True
        if self._stop.is_set():
            return False
        self.router.save_fit(fitted)
        return True

    def _run(self) -> None:
        lowest_priority()
        while not self._stop.wait(self.check_s):
            try:
                self.check()
            except ScopeError as exc:  # the store is away: try again at the next look
                log.info("scope-router: background refit skipped (%s)", exc)
