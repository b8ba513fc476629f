"""Refit as traffic flows: a background thread refits the router's estimator on its store once ``every`` new
scored outcomes have arrived (across every process sharing the store), never on the route path.

It looks at the store's scored-outcome count every ``check_s`` seconds (one registry read); a refit runs on its own
thread and swaps the new fit in for every route that starts after it is saved. Stop it with ``stop()``. On Linux
the thread runs at the lowest CPU priority (``BACKGROUND_NICE``): on a busy machine routes get the cores first and
the refit takes longer (``benchmarks/refit_latency.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from scope_core.errors import ScopeError
from scope_core.store import summary as sm

if TYPE_CHECKING:
    from scope_core.store.behaviour import BehaviourStore

log = logging.getLogger("scope_core")
BACKGROUND_NICE = 19  # the refit thread's nice value (Linux gives each thread its own): routes get the cores first


def background_priority() -> None:
    """Lower the calling thread's CPU priority to ``BACKGROUND_NICE`` (a no-op where threads have no own priority)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


def scored_outcomes(store: BehaviourStore) -> int:
    """How many scored outcomes ``store`` holds (from its priors)."""
    return int(sum(prior[sm.N_SCORED] for prior in store.priors().values()))


class Refitter:
    """Keeps a fit up to date with a store's traffic (a daemon thread calling ``fit``, e.g. ``Router.fit``)."""

    def __init__(self, store: BehaviourStore, fit: Callable[[], object], every: int, check_s: float = 5.0) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1 scored outcome, got {every}")
        self.store, self.fit, self.every, self.check_s = store, fit, every, check_s
        self.refits = 0
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
        self._stop.set()
        self._thread.join()

    def check(self) -> bool:
        """Refit if ``every`` scored outcomes arrived since the last look that refitted; whether it refitted."""
        count = scored_outcomes(self.store)
        if self._seen is None:
            self._seen = count
        if count - self._seen < self.every:
            return False
        self.fit()
        self._seen, self.refits = count, self.refits + 1
        return True

    def _run(self) -> None:
        background_priority()
        while not self._stop.wait(self.check_s):
            try:
                self.check()
            except ScopeError as exc:  # the store is away: try again at the next look
                log.info("scope-router: background refit skipped (%s)", exc)
