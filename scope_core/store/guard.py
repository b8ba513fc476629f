"""Every call into Chroma goes through a StoreGuard: failures become one library error, outages fail fast.

- A failure to reach the store (connection refused, timeout, a server error) raises
  ``StoreUnavailableError``; any other Chroma error raises ``StoreError``; neither is a raw httpx error.
- After a failure the store is *down*: calls fail at once, without touching the network, until
  ``retry_s`` has passed; then one call probes it. A success ends the outage.
- One warning is logged when an outage starts, one info line when it ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from chromadb.errors import ChromaError, InternalError

from scope_core.errors import StoreError, StoreUnavailableError
from scope_core.scrub import scrub

log = logging.getLogger("scope_core")
T = TypeVar("T")
# Chroma's HTTP client raises a bare Exception for a server error without a Chroma error body.
_UNAVAILABLE = (httpx.HTTPError, OSError, InternalError, TimeoutError)


class StoreGuard:
    """Translates store failures and tracks outages of one store (thread-safe)."""

    def __init__(self, where: str, retry_s: float = 2.0) -> None:
        self.where, self.retry_s = scrub(where), retry_s
        self.outages = 0  # how many outages this process has seen
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_try = 0.0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` with its failures translated (see the module docstring)."""
        with self._lock:
            if self._down_since is not None and time.monotonic() < self._next_try:
                raise StoreUnavailableError(
                    f"store at {self.where} is unavailable (down for {time.monotonic() - self._down_since:.1f} s)"
                )
        try:
            result = fn(*args, **kwargs)
        except StoreError:
            raise
        except _UNAVAILABLE as exc:
            raise self._failed(exc) from exc
        except ChromaError as exc:
            raise StoreError(f"store at {self.where}: {type(exc).__name__}: {scrub(str(exc))}") from exc
        except Exception as exc:
            if type(exc) is Exception:  # chromadb's fallback for an HTTP error status
                raise self._failed(exc) from exc
            raise
        self._succeeded()
        return result

    def _failed(self, exc: BaseException) -> StoreUnavailableError:
        cause = scrub(f"{type(exc).__name__}: {exc}")[:300]
        with self._lock:
            now = time.monotonic()
            self._next_try = now + self.retry_s
            if self._down_since is None:
                self._down_since = now
                self.outages += 1
                log.warning(
                    "scope-router: store at %s is unavailable (%s); routing goes on with the last registry and "
                    "priors this process saw, outcomes go to the local journal",
                    self.where,
                    cause,
                )
        return StoreUnavailableError(f"store at {self.where} is unavailable ({cause})")

    def _succeeded(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is not None:
                log.info(
                    "scope-router: store at %s is back after %.1f s", self.where, time.monotonic() - self._down_since
                )
                self._down_since = None


class GuardedCollection:
    """A Chroma collection whose every method call goes through a StoreGuard."""

    def __init__(self, collection: Any, guard: StoreGuard) -> None:
        self._collection, self._guard = collection, guard
        self.name: str = collection.name

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self._collection, attr)
        if not callable(target):
            return target
        return lambda *args, **kwargs: self._guard.call(target, *args, **kwargs)
