"""Refit as traffic flows: a background thread refits the router's estimator on its store once ``every`` new
scored outcomes have arrived (across every process sharing the store), never on the route path.

It looks at the store's scored-outcome count every ``check_s`` seconds (one registry read); a refit runs on its own
thread and swaps the new fit in for every route that starts after it is saved. Stop it with ``stop()``.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from scope_core.errors import ScopeError
from scope_core.store import summary as sm

if TYPE_CHECKING:
    from scope_core.routing.router import Router

log = logging.getLogger("scope_core")


def scored_outcomes(router: Router) -> int:
    """How many scored outcomes the router's store holds (from its priors)."""
    return int(sum(prior[sm.N_SCORED] for prior in router.store.priors().values()))


class Refitter:
    """Keeps a router's fit up to date with its traffic (a daemon thread)."""

    def __init__(self, router: Router, every: int, check_s: float = 5.0) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1 scored outcome, got {every}")
        self.router, self.every, self.check_s = router, every, check_s
        self.refits = 0
        self._stop = threading.Event()
        self._seen: int | None = None
        self._thread = threading.Thread(target=self._run, name="scope-refit", daemon=True)

    def start(self) -> Refitter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def check(self) -> bool:
        """Refit if ``every`` scored outcomes arrived since the last look that refitted; whether it refitted."""
        count = scored_outcomes(self.router)
        if self._seen is None:
            self._seen = count
        if count - self._seen < self.every:
            return False
        self.router.fit()
        self._seen, self.refits = count, self.refits + 1
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.check_s):
            try:
                self.check()
            except ScopeError as exc:  # the store is away: try again at the next look
                log.info("scope-router: background refit skipped (%s)", exc)
