"""Every call into Chroma goes through a StoreGuard: failures become one library error, outages fail fast.

- A failure to reach the store (connection refused, timeout, a server error) raises
  ``StoreUnavailableError``; a full disk ``StoreFullError`` and a damaged or missing database file
  ``StoreCorruptedError`` (both kinds of it, each saying what it is and what to do); any other Chroma error raises
  ``StoreError``; none is a raw httpx or sqlite error.
- After a failure the store is *down*: calls fail at once, without touching the store, until
  ``retry_s`` has passed; then one call probes it. A success ends the outage.
- One warning is logged when an outage starts, one info line when it ends.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from chromadb.errors import ChromaError, InternalError

from scope_core.errors import StoreCorruptedError, StoreError, StoreFullError, StoreUnavailableError
from scope_core.scrub import scrub

log = logging.getLogger("scope_core")
T = TypeVar("T")
# Chroma's HTTP client raises a bare Exception for a server error without a Chroma error body.
_UNAVAILABLE = (httpx.HTTPError, OSError, InternalError, TimeoutError, sqlite3.OperationalError)
_FULL = ("database or disk is full", "no space left on device", "disk quota exceeded", "(code: 13)")
_CORRUPT = ("file is not a database", "disk image is malformed", "(code: 26)", "(code: 11)", "database corrupt")
_REMEDY = {
    StoreFullError: "its disk is full: free some space; writes wait in the journal until there is room",
    StoreCorruptedError: (
        "its database is damaged: restore it from a backup (an embedded store: chroma.sqlite3 in its folder), or "
        "move the folder aside to start an empty store; writes wait in the journal meanwhile"
    ),
}


def failure_kind(text: str) -> type[StoreUnavailableError]:
    """What a store failure's text says it is: a full disk, a damaged database, or the store unavailable."""
    lowered = text.lower()
    if any(k in lowered for k in _FULL):
        return StoreFullError
    if any(k in lowered for k in _CORRUPT):
        return StoreCorruptedError
    return StoreUnavailableError


class StoreGuard:
    """Translates store failures and tracks outages of one store (thread-safe)."""

    def __init__(self, where: str, retry_s: float = 2.0) -> None:
        self.where, self.retry_s = scrub(where), retry_s
        self.outages = 0  # how many outages this process has seen
        self.kind: type[StoreUnavailableError] | None = None  # the current outage's kind (None: the store is up)
        self.cause = ""  # the current outage's cause, scrubbed
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_try = 0.0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    @property
    def down_s(self) -> float:
        """Seconds the store has been down (0 when it is up)."""
        since = self._down_since
        return 0.0 if since is None else time.monotonic() - since

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` with its failures translated (see the module docstring)."""
        with self._lock:
            if self._down_since is not None and time.monotonic() < self._next_try:
                raise self._error(f"(down for {time.monotonic() - self._down_since:.1f} s)")
        try:
            result = fn(*args, **kwargs)
        except StoreUnavailableError as exc:
            raise self._failed(exc) from exc
        except StoreError:
            raise
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, _UNAVAILABLE) or failure_kind(text) is not StoreUnavailableError:
                raise self._failed(exc) from exc
            if isinstance(exc, ChromaError):
                raise StoreError(f"store at {self.where}: {text}") from exc
            if type(exc) is Exception:  # chromadb's fallback for an HTTP error status
                raise self._failed(exc) from exc
            raise
        self._succeeded()
        return result

    def _error(self, detail: str) -> StoreUnavailableError:
        kind = self.kind or StoreUnavailableError
        what = _REMEDY.get(kind, "it is unavailable")
        return kind(f"store at {self.where}: {what} ({self.cause}) {detail}".rstrip())

    def _failed(self, exc: BaseException) -> StoreUnavailableError:
        if isinstance(exc, StoreUnavailableError):  # already ours (a missing database file): keep its words
            kind, cause = type(exc), str(exc)
        else:
            cause = scrub(f"{type(exc).__name__}: {exc}")[:300]
            kind = failure_kind(cause)
        with self._lock:
            now = time.monotonic()
            self._next_try = now + self.retry_s
            self.kind, self.cause = kind, cause
            if self._down_since is None:
                self._down_since = now
                self.outages += 1
                log.warning(
                    "scope-router: store at %s: %s (%s); routing goes on with the last registry and priors this "
                    "process saw, outcomes go to the local journal",
                    self.where,
                    _REMEDY.get(kind, "it is unavailable"),
                    cause,
                )
        return self._error("")

    def _succeeded(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is not None:
                log.info(
                    "scope-router: store at %s is back after %.1f s", self.where, time.monotonic() - self._down_since
                )
                self._down_since, self.kind, self.cause = None, None, ""


class GuardedCollection:
    """A Chroma collection, got (or created) on first use, whose every method call goes through a StoreGuard."""

    def __init__(self, get: Callable[[], Any], name: str, guard: StoreGuard) -> None:
        self._get, self._guard, self.name = get, guard, name
        self._collection: Any = None
        self._lock = threading.Lock()

    def _resolved(self) -> Any:
        if self._collection is None:
            with self._lock:
                if self._collection is None:
                    self._collection = self._get()
        return self._collection

    def ready(self) -> None:
        """Get (or create) the collection now, through the guard."""
        if self._collection is None:
            self._guard.call(self._resolved)

    def __getattr__(self, attr: str) -> Any:
        collection = self._collection if self._collection is not None else self._guard.call(self._resolved)
        target = getattr(collection, attr)
        if not callable(target):
            return target
        return lambda *args, **kwargs: self._guard.call(target, *args, **kwargs)
