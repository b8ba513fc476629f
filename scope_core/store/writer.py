"""Background writer of call outcomes: store writes stay off the caller's critical path.

One writer thread per Router runs jobs in submission order: draining the journal into the store
(``scope_core.recorder``) and a routed call's deferred record. ``flush()`` waits until every job
submitted has run.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("scope_core")


class OutcomeWriter:
    """A FIFO of store writes run on one daemon thread; errors are logged, never raised to callers."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], object]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.failures = 0

    def submit(self, job: Callable[[], object]) -> None:
        self._ensure_started()
        self._queue.put(job)

    def flush(self) -> None:
        """Block until every submitted write has run (a no-op on the writer thread itself)."""
        if self._thread is not None and threading.current_thread() is not self._thread:
            self._queue.join()

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="scope-outcome-writer", daemon=True)
                    self._thread.start()
                    atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job()
            except Exception:
                self.failures += 1
                log.exception("scope-router: recording an outcome failed")
            finally:
                self._queue.task_done()
