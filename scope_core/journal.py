"""A durable local journal of store writes that could not be made (the store was unreachable).

Entries live in a SQLite file (WAL, ``synchronous=FULL``: each append is fsync'd before it
returns), shared safely by the threads and processes using one store. They are replayed in order
once the store is back, by the next write, by ``Router.replay_journal()`` or by the next process
that opens the journal after a crash. A replayed entry is deleted after the store took it; the
store's writes are idempotent (outcomes have fixed ids, a score is set, not added), so an entry
replayed twice after a crash between the two steps is stored exactly once. A file lock lets one
replayer at a time drain a journal.

Entries carry what the store needs without re-embedding (outcome records, and each new prompt's
embedding and token count); a prompt's text only when the store keeps prompt texts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from filelock import FileLock, Timeout

from .errors import StoreUnavailableError

log = logging.getLogger("scope_core")
JOURNAL_DIR = Path(os.environ.get("SCOPE_JOURNAL_DIR", Path.home() / ".scope" / "journal"))


def journal_path(location: str | None, name: str) -> Path | None:
    """Where a store's journal lives: inside an embedded store's folder, under ``JOURNAL_DIR`` for a
    server; None (in memory) for an in-memory store."""
    if location is None or location == ":memory:":
        return None
    if location.startswith(("http://", "https://")):
        digest = hashlib.sha256(f"{location}\x1f{name}".encode()).hexdigest()[:16]
        return JOURNAL_DIR / f"{name}-{digest}.sqlite"
    return Path(location) / f"{name}-journal.sqlite"


class Journal:
    """Append-only entries ``(kind, payload)`` with ``replay`` in order."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, body BLOB)"
        )
        self._lock = threading.Lock()  # one sqlite connection: one statement at a time
        self._replaying = threading.Lock()
        self._file_lock = FileLock(f"{path}.lock", thread_local=False) if path else None
        self.maybe_pending = self.pending() > 0

    def append(self, kind: str, payload: dict[str, Any]) -> None:
        body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
        with self._lock:
            self._db.execute("INSERT INTO entries (kind, body) VALUES (?, ?)", (kind, body))
            self.maybe_pending = True

    def pending(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]

    def replay(self, apply: Callable[[str, dict[str, Any]], None]) -> int:
        """Apply every entry in order and delete it; stops (leaving the rest) when the store is still
        unavailable. Returns how many entries were applied; 0 when another replayer holds the journal."""
        if not self._replaying.acquire(blocking=False):
            return 0
        try:
            if self._file_lock is not None:
                try:
                    self._file_lock.acquire(timeout=0)
                except Timeout:
                    return 0
            try:
                return self._drain(apply)
            finally:
                if self._file_lock is not None:
                    self._file_lock.release()
        finally:
            self._replaying.release()

    def _drain(self, apply: Callable[[str, dict[str, Any]], None]) -> int:
        done = 0
        while True:
            with self._lock:
                row = self._db.execute("SELECT seq, kind, body FROM entries ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                self.maybe_pending = False
                return done
            seq, kind, body = row
            try:
                apply(kind, orjson.loads(body))
            except StoreUnavailableError:
                return done
            except Exception:  # a bad entry must not block the ones behind it
                log.exception("scope-router: a journal entry (%s #%d) could not be stored; dropped", kind, seq)
            with self._lock:
                self._db.execute("DELETE FROM entries WHERE seq = ?", (seq,))
            done += 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
