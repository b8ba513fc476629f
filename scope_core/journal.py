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

    def replay(self, apply: Callable[[str, list[dict[str, Any]]], None], batch: int = 256) -> int:
        """Apply every entry in order and delete it; stops (leaving the rest) while the store is still
        unavailable. ``apply(kind, payloads)`` gets runs of consecutive entries of one kind. Returns how
        many entries were applied; 0 when another replayer holds the journal."""
        if self._file_lock is not None:
            try:
                self._file_lock.acquire(timeout=0)
            except Timeout:
                return 0
        try:
            with self._replaying:  # in this process, a second replayer waits: writes after it stay in order
                return self._drain(apply, batch)
        finally:
            if self._file_lock is not None:
                self._file_lock.release()

    def _drain(self, apply: Callable[[str, list[dict[str, Any]]], None], batch: int) -> int:
        done = 0
        while True:
            with self._lock:
                rows = self._db.execute("SELECT seq, kind, body FROM entries ORDER BY seq LIMIT ?", (batch,)).fetchall()
            if not rows:
                self.maybe_pending = False
                return done
            for run in _runs(rows):
                try:
                    _apply_run(apply, run)
                except StoreUnavailableError:
                    return done
                with self._lock:
                    self._db.executemany("DELETE FROM entries WHERE seq = ?", [(seq,) for seq, _, _ in run])
                done += len(run)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _runs(rows: list[tuple[int, str, bytes]]) -> list[list[tuple[int, str, bytes]]]:
    """Consecutive rows of one kind."""
    runs: list[list[tuple[int, str, bytes]]] = []
    for row in rows:
        if runs and runs[-1][0][1] == row[1]:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _apply_run(apply: Callable[[str, list[dict[str, Any]]], None], run: list[tuple[int, str, bytes]]) -> None:
    """Apply a run at once; if it fails for another reason than the store, entry by entry, so one bad entry
    (logged, then dropped) does not block the ones behind it."""
    kind = run[0][1]
    try:
        apply(kind, [orjson.loads(body) for _, _, body in run])
        return
    except StoreUnavailableError:
        raise
    except Exception:
        if len(run) == 1:
            log.exception("scope-router: journal entry #%d (%s) cannot be stored; dropped", run[0][0], kind)
            return
    for row in run:
        _apply_run(apply, [row])
