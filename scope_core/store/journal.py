"""A durable local journal of store writes: every write is appended here first, then applied.

Entries live in a SQLite file (WAL, ``synchronous=FULL``: each append is fsync'd before it
returns), shared by the threads and processes using one store. A write is accepted once its entry
is on disk; it is applied to the store by the journal's owner (the Router that appended it), and
deleted once the store took it. While the store is unavailable entries wait, in order, and are
replayed by the owner's next write, by ``Router.replay_journal()``, or, after the owner died
(``kill -9``), by the next process that opens the journal: each owner holds a lock file for its
life, and a journal whose owner's lock is free adopts that owner's entries.

Each entry has an attempt id the store uses to count its priors once over retries (see
``scope_core.store``); outcome records have fixed ids and a score is set, not added, so an entry
replayed twice (a crash between the store taking it and its deletion) is stored exactly once.

Entries carry what the store needs without re-embedding (outcome records, and each prompt's
embedding and token count); a prompt's text only when the store keeps prompt texts.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from filelock import FileLock, Timeout

from scope_core.errors import StoreUnavailableError

log = logging.getLogger("scope_core")


def journal_dir() -> Path:
    """Where the journals of server stores live: ``$SCOPE_JOURNAL_DIR``, else ``~/.scope/journal``."""
    return Path(os.environ.get("SCOPE_JOURNAL_DIR") or Path.home() / ".scope" / "journal")


_STALE_LOCK_S = 60.0  # an owner lock file this old and free belongs to a dead process


def _free(path: Path) -> bool:
    """Whether nobody holds the lock at ``path``."""
    lock = FileLock(path, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    lock.release()
    return True


def journal_path(location: str | None, name: str) -> Path | None:
    """Where a store's journal lives: inside an embedded store's folder, under ``journal_dir()`` for a
    server; None (in memory) for an in-memory store."""
    if location is None or location == ":memory:":
        return None
    if location.startswith(("http://", "https://")):
        digest = hashlib.sha256(f"{location}\x1f{name}".encode()).hexdigest()[:16]
        return journal_dir() / f"{name}-{digest}.sqlite"
    return Path(location) / f"{name}-journal.sqlite"


@dataclass(frozen=True)
class Entry:
    """One journal entry; ``retried``: it may have been handed to the store before."""

    seq: int
    kind: str
    payload: dict[str, Any]
    attempt: str
    retried: bool


Apply = Callable[[str, list[Entry]], Sequence[object]]  # (kind, a run of entries) -> one result per entry


class Journal:
    """Append-only entries ``(kind, payload)``, each applied by its owner with ``replay``, in order."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.owner = uuid.uuid4().hex
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS entries "
            "(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, body BLOB, owner TEXT, attempt TEXT)"
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(entries)")}
        for column in {"owner", "attempt"} - columns:  # a journal written before entries had owners
            with contextlib.suppress(sqlite3.OperationalError):  # another process added it meanwhile
                self._db.execute(f"ALTER TABLE entries ADD COLUMN {column} TEXT")
        self._db.execute("UPDATE entries SET attempt = lower(hex(randomblob(16))) WHERE attempt IS NULL")
        self._lock = threading.Lock()  # one sqlite connection: one statement at a time
        self._replaying = threading.Lock()
        self._fresh: set[int] = set()  # appended here and never handed to the store yet
        self._owners = path.with_name(f"{path.stem}-owners") if path is not None else None
        self._own_lock = self._hold_own_lock()
        self.maybe_pending = self.pending() > 0

    def _hold_own_lock(self) -> FileLock | None:
        """This owner's lock, held while it lives; the lock files of long dead owners are removed."""
        if self._owners is None:
            return None
        self._owners.mkdir(exist_ok=True)
        for stale in self._owners.glob("*.lock"):
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_mtime > _STALE_LOCK_S and _free(stale):
                    stale.unlink()
        lock = FileLock(self._owners / f"{self.owner}.lock", thread_local=False)
        lock.acquire(timeout=0)
        return lock

    def append(self, kind: str, payload: dict[str, Any]) -> int:
        """Add an entry (on disk when this returns); its sequence number."""
        body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO entries (kind, body, owner, attempt) VALUES (?, ?, ?, ?)",
                (kind, body, self.owner, uuid.uuid4().hex),
            )
            seq = int(cursor.lastrowid or 0)
            self._fresh.add(seq)
            self.maybe_pending = True
        return seq

    def pending(self) -> int:
        """Entries not stored yet, of every owner."""
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]

    def replay(self, apply: Apply, batch: int = 256) -> dict[int, object]:
        """Adopt the entries of dead owners, then apply this owner's entries in order and delete them;
        stops (leaving the rest) while the store is unavailable. ``apply(kind, entries)`` gets runs of
        consecutive entries of one kind and returns a result per entry; an entry that fails for another
        reason than the store gets its exception as result and is dropped. Returns {seq: result}."""
        with self._replaying:  # in this process, a second replayer waits: writes after it stay in order
            self._adopt()
            return self._drain(apply, batch)

    def _adopt(self) -> None:
        """Take over the entries of owners whose lock is free (their process died)."""
        if self._owners is None:
            return
        with self._lock:
            others = [
                r[0] for r in self._db.execute("SELECT DISTINCT owner FROM entries WHERE owner IS NOT ?", (self.owner,))
            ]
        for other in others:
            lock = FileLock(self._owners / f"{other}.lock", thread_local=False) if other else None
            try:
                if lock is not None:
                    lock.acquire(timeout=0)
            except Timeout:
                continue  # alive: it applies its own entries
            try:
                with self._lock:
                    self._db.execute("UPDATE entries SET owner = ? WHERE owner IS ?", (self.owner, other))
            finally:
                if lock is not None:
                    lock.release()
                    with contextlib.suppress(OSError):
                        Path(lock.lock_file).unlink()

    def _drain(self, apply: Apply, batch: int) -> dict[int, object]:
        results: dict[int, object] = {}
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT seq, kind, body, attempt FROM entries WHERE owner = ? ORDER BY seq LIMIT ?",
                    (self.owner, batch),
                ).fetchall()
                entries = [Entry(s, k, orjson.loads(b), a, s not in self._fresh) for s, k, b, a in rows]
            if not entries:
                self.maybe_pending = False
                return results
            for run in _runs(entries):
                with self._lock:
                    self._fresh.difference_update(e.seq for e in run)
                try:
                    results.update(_apply_run(apply, run))
                except StoreUnavailableError:
                    return results
                self._delete([e.seq for e in run])

    def _delete(self, seqs: list[int]) -> None:
        """Delete applied entries; not fsync'd (the next append is): one replayed again is stored once."""
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executemany("DELETE FROM entries WHERE seq = ?", [(s,) for s in seqs])
            self._db.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self._own_lock is not None:
            self._own_lock.release()
            with contextlib.suppress(OSError):
                Path(self._own_lock.lock_file).unlink()


def _runs(entries: list[Entry]) -> list[list[Entry]]:
    """Consecutive entries of one kind, and all fresh or all maybe tried before."""
    runs: list[list[Entry]] = []
    for entry in entries:
        if runs and (runs[-1][0].kind, runs[-1][0].retried) == (entry.kind, entry.retried):
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return runs


def _apply_run(apply: Apply, run: list[Entry]) -> dict[int, object]:
    """Apply a run at once; if it fails for another reason than the store, entry by entry (as retried: part
    of it may be stored), so one bad entry (its exception is its result) does not block the ones behind it."""
    try:
        return dict(zip((e.seq for e in run), apply(run[0].kind, run), strict=True))
    except StoreUnavailableError:
        raise
    except Exception as exc:
        if len(run) == 1:
            return {run[0].seq: exc}
    results: dict[int, object] = {}
    for entry in run:
        results.update(_apply_run(apply, [Entry(entry.seq, entry.kind, entry.payload, entry.attempt, True)]))
    return results
