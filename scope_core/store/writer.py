"""Background writer of call outcomes: store writes stay off the caller's critical path.

One writer thread per Router runs jobs in submission order: draining the journal into the store
(``scope_core.recorder``) and a routed call's deferred record. When no job came for ``tick_s`` it runs ``idle``
(the recorder replays what waits, so a store that is back gets its writes without any traffic). ``flush()`` waits
until every job submitted has run.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger("scope_core")
TICK_S = 1.0  # the writer looks at what waits at least this often


class OutcomeWriter:
    """A FIFO of store writes run on one daemon thread; errors are logged and counted, never raised to callers."""

    def __init__(self, idle: Callable[[], object] | None = None, tick_s: float = TICK_S) -> None:
        self._queue: queue.Queue[Callable[[], object]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._idle, self.tick_s = idle, tick_s
        self.failures = 0

    def start(self) -> None:
        """Start the thread now (it also starts with the first job): ``idle`` runs from then on."""
        self._ensure_started()

    def submit(self, job: Callable[[], object]) -> None:
        self._ensure_started()
        self._queue.put(job)

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every job submitted so far has run (a no-op on the writer thread itself), or ``timeout``
        seconds; whether they all ran."""
        if self._thread is None or threading.current_thread() is self._thread:
            return True
        if timeout is None:
            self._queue.join()
            return True
        done = threading.Event()
        self._queue.put(done.set)
        return done.wait(timeout)

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="scope-outcome-writer", daemon=True)
                    self._thread.start()
                    atexit.register(self.flush, 10.0)

    def _run(self) -> None:
        last_idle = time.monotonic()
        while True:
            try:
                job = self._queue.get(timeout=self.tick_s if self._idle is not None else None)
            except queue.Empty:
                job = None
            if job is None or time.monotonic() - last_idle >= self.tick_s:  # busy or not, what waits is looked at
                last_idle = time.monotonic()
                self._call(self._idle)
            if job is not None:
                self._call(job)
                self._queue.task_done()

    def _call(self, job: Callable[[], object] | None) -> None:
        if job is None:
            return
        try:
            job()
        except Exception:
            self.failures += 1
            log.exception("scope-router: recording an outcome failed")
