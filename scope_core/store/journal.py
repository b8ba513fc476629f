"""A durable local journal of store writes: every write is appended here first, then applied.

Entries live in a SQLite file (WAL, ``synchronous=FULL``: each append is fsync'd before it returns; owner-only,
``scope_core.store.journal_db``), shared by the threads and processes using one store. A write is accepted once
its entry is on disk; it is applied to the store by the journal's owner (the Router that appended it), and deleted
once the store took it. While the store is unavailable entries wait, in order, and are replayed by the owner's
writer thread every few seconds, by ``Router.replay_journal()``, or, after the owner died (``kill -9``), by the
next process that opens the journal or by a live one within ``ADOPT_EVERY_S``: each owner holds a lock file for its
life, and a journal whose owner's lock is free adopts that owner's entries.

An append waits at most ``wait_s`` for the file: when it cannot be written (disk full, its lock held by a stopped
process) the entry waits in a bounded queue in memory (``backlog``) and is written, in order, by the next replay;
one that the queue has no room for is dropped and counted (``dropped``), never only logged.

Each entry has an attempt id the store uses to count its priors once over retries (see
``scope_core.store``); outcome records have fixed ids and a score is set, not added, so an entry
replayed twice (a crash between the store taking it and its deletion) is stored exactly once.
An entry the store refuses (an unknown model or run: a ``ScopeError``) is deleted (counted by the recorder); one
whose apply fails otherwise (a bug, a store error) is kept and skipped (``held``), as is any failing entry after
it (a score whose outcome is held), and tried again by the next process that adopts it or by
``replay(retry_held=True)``.

Entries carry what the store needs without re-embedding (outcome records, and each prompt's
embedding and token count); a prompt's text only when the store keeps prompt texts.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import orjson
from filelock import FileLock, Timeout

from scope_core.errors import StoreUnavailableError
from scope_core.scrub import scrub
from scope_core.store.files import FILE_MODE, private_dir
from scope_core.store.journal_db import JournalBusy, JournalDB
from scope_core.store.journal_runs import Apply, Entry, apply_run, is_held, runs_of

log = logging.getLogger("scope_core")
DEFAULT_WAIT_S = 0.5  # the longest an append waits for the journal file; past it the entry waits in memory
BACKLOG = 10_000  # entries kept in memory while the journal file cannot be written
ADOPT_EVERY_S = 10.0  # how often an idle journal looks for the entries of owners that died


def journal_dir() -> Path:
    """Where the journals of server stores live: ``$SCOPE_JOURNAL_DIR``, else ``~/.scope/journal``."""
    return Path(os.environ.get("SCOPE_JOURNAL_DIR") or Path.home() / ".scope" / "journal")


_STALE_LOCK_S = 60.0  # an owner lock file this old and free belongs to a dead process


def _free(path: Path) -> bool:
    """Whether nobody holds the lock at ``path``."""
    lock = FileLock(path, thread_local=False, mode=FILE_MODE)
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


class Journal:
    """Append-only entries ``(kind, payload)``, each applied by its owner with ``replay``, in order."""

    def __init__(self, path: Path | None, *, wait_s: float = DEFAULT_WAIT_S, backlog: int = BACKLOG) -> None:
        self.path, self.wait_s = path, wait_s
        self.owner = uuid.uuid4().hex
        self.backlog: deque[tuple[str, bytes]] = deque()  # entries not yet written to the file, oldest first
        self.backlog_max = backlog
        self.dropped = 0  # entries the backlog had no room for: lost, counted
        self._db = JournalDB(path, wait_s)
        self._backlog_lock = threading.Lock()
        self._replaying = threading.Lock()
        self._writing = threading.Lock()
        self._fresh: set[int] = set()  # appended here and never handed to the store yet
        self.holding = False  # an entry of this owner is held: later failures are held too, never refused
        self.held_now: set[int] = set()  # the entries the last replay held
        self._looked = time.monotonic()
        self._owners = path.with_name(f"{path.stem}-owners") if path is not None else None
        self._own_lock = self._hold_own_lock()
        self.maybe_pending = self._count(mine=False) > 0
        atexit.register(self._at_exit)

    @property
    def problems(self) -> list[str]:
        """Damaged journal files found and set aside, in words (path, what was lost, what to do)."""
        return self._db.problems

    def _hold_own_lock(self) -> FileLock | None:
        """This owner's lock, held while it lives; the lock files of long dead owners are removed."""
        if self._owners is None:
            return None
        try:
            private_dir(self._owners)
        except OSError:  # no room, no right: this journal can neither adopt nor be adopted
            self._owners = None
            return None
        for stale in self._owners.glob("*.lock"):
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_mtime > _STALE_LOCK_S and _free(stale):
                    stale.unlink()
        lock = FileLock(self._owners / f"{self.owner}.lock", thread_local=False, mode=FILE_MODE)
        lock.acquire(timeout=0)
        return lock

    # -- appending ------------------------------------------------------------------------------
    def append(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Add an entry: on disk when this returns with its sequence number; None when the file could not be
        written within ``wait_s`` (the entry waits in memory, written by the next ``replay``)."""
        body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
        if not self.backlog:  # entries already waiting in memory go first: the order is kept
            with contextlib.suppress(JournalBusy):
                seq = self._db.run(lambda db: self._insert(db, kind, body))
                self._fresh.add(seq)
                self.maybe_pending = True
                return seq
        with self._backlog_lock:
            if len(self.backlog) >= self.backlog_max:
                self.backlog.popleft()
                self.dropped += 1
                log.error(
                    "scope-router: the journal at %s cannot be written and %d entries wait in memory: the oldest "
                    "was dropped (%d so far)", self.path, self.backlog_max, self.dropped,
                )  # fmt: skip
            self.backlog.append((kind, body))
        return None

    def _insert(self, db, kind: str, body: bytes) -> int:
        cursor = db.execute(
            "INSERT INTO entries (kind, body, owner, attempt) VALUES (?, ?, ?, ?)",
            (kind, body, self.owner, uuid.uuid4().hex),
        )
        return int(cursor.lastrowid or 0)

    def _write_backlog(self) -> bool:
        """Write the entries waiting in memory to the file, in order (one transaction per batch); whether all went."""
        if not self._writing.acquire(timeout=5.0):  # one writer of the backlog at a time (the replay, or the exit)
            return False
        try:
            return self._write_batches()
        finally:
            self._writing.release()

    def _write_batches(self) -> bool:
        while True:
            with self._backlog_lock:
                batch = list(self.backlog)[:256]
            if not batch:
                return True
            try:
                seqs = self._db.run(lambda db, b=batch: self._insert_batch(db, b))
            except JournalBusy:
                return False
            with self._backlog_lock:
                for item in batch:
                    if self.backlog and self.backlog[0] is item:  # unless the queue dropped it meanwhile
                        self.backlog.popleft()
            self._fresh.update(seqs)
            self.maybe_pending = True

    def _insert_batch(self, db, batch: list[tuple[str, bytes]]) -> list[int]:
        db.execute("BEGIN IMMEDIATE")
        try:
            seqs = [self._insert(db, kind, body) for kind, body in batch]
        except BaseException:
            with contextlib.suppress(Exception):
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return seqs

    # -- counting -------------------------------------------------------------------------------
    def _count(self, *, mine: bool, held: bool | None = None) -> int:
        """Entries in the file (this owner's, or everyone's; held or not, or both); 0 when it cannot be read."""
        where = ["owner = ?"] if mine else []
        where += [] if held is None else ["held = 1" if held else "coalesce(held, 0) = 0"]
        sql = "SELECT COUNT(*) FROM entries" + (f" WHERE {' AND '.join(where)}" if where else "")
        params = (self.owner,) if mine else ()
        try:
            return self._db.run(lambda db: db.execute(sql, params).fetchone()[0])
        except JournalBusy:
            return 0

    def pending(self) -> int:
        """Entries not stored yet, of every owner, on disk and in memory."""
        return self._count(mine=False) + len(self.backlog)

    def waiting(self) -> int:
        """This owner's entries still to store: in memory, and on disk but not held."""
        return len(self.backlog) + self._count(mine=True, held=False)

    def held(self) -> int:
        """This owner's entries kept after their apply failed for another reason than the store being unavailable."""
        return self._count(mine=True, held=True)

    def needs_replay(self) -> bool:
        """Whether a replay has work: entries in memory or maybe on disk, or (looked at every ``ADOPT_EVERY_S``)
        entries of other owners, which may have died."""
        if self.backlog or self.maybe_pending:
            return True
        if time.monotonic() - self._looked < ADOPT_EVERY_S:
            return False
        self._looked = time.monotonic()
        return self._count(mine=False) > self._count(mine=True)

    # -- replaying ------------------------------------------------------------------------------
    def replay(self, apply: Apply, batch: int = 256, retry_held: bool = False) -> dict[int, object]:
        """Write the entries waiting in memory, adopt the entries of dead owners, then apply this owner's entries in
        order and delete them; stops (leaving the rest) while the store or the file is unavailable. ``apply(kind,
        entries)`` gets runs of consecutive entries of one kind and returns a result per entry; an entry that fails
        for another reason than the store gets its exception as result (refused or held: see the module docstring).
        ``retry_held``: held entries are tried again. Returns {seq: result}."""
        with self._replaying:  # in this process, a second replayer waits: writes after it stay in order
            self._write_backlog()
            self.held_now = set()
            with contextlib.suppress(JournalBusy):
                if retry_held:
                    self._db.run(lambda db: db.execute("UPDATE entries SET held = 0 WHERE owner = ?", (self.owner,)))
                    self.holding = False
                self._adopt()
            results = self._drain(apply, batch)
            self._db.note_count(self._count(mine=False))
            return results

    def _adopt(self) -> None:
        """Take over the entries of owners whose lock is free (their process died); their held entries are retried."""
        if self._owners is None:
            return
        others = self._db.run(
            lambda db: [
                r[0] for r in db.execute("SELECT DISTINCT owner FROM entries WHERE owner IS NOT ?", (self.owner,))
            ]
        )
        for other in others:
            lock = FileLock(self._owners / f"{other}.lock", thread_local=False, mode=FILE_MODE) if other else None
            try:
                if lock is not None:
                    lock.acquire(timeout=0)
            except Timeout:
                continue  # alive: it applies its own entries
            try:
                self._db.run(
                    lambda db, o=other: db.execute(
                        "UPDATE entries SET owner = ?, held = 0 WHERE owner IS ?", (self.owner, o)
                    )
                )
                self.maybe_pending = True
            finally:
                if lock is not None:
                    lock.release()
                    with contextlib.suppress(OSError):
                        Path(lock.lock_file).unlink()

    def _drain(self, apply: Apply, batch: int) -> dict[int, object]:
        results: dict[int, object] = {}
        select = "SELECT seq, kind, body, attempt FROM entries WHERE owner = ? AND coalesce(held, 0) = 0 ORDER BY seq LIMIT ?"
        while True:
            try:
                rows = self._db.run(lambda db: db.execute(select, (self.owner, batch)).fetchall())
            except JournalBusy:
                return results
            entries = [Entry(s, k, orjson.loads(b), a, s not in self._fresh) for s, k, b, a in rows]
            if not entries:
                self.maybe_pending = False
                return results
            for run in runs_of(entries):
                self._fresh.difference_update(e.seq for e in run)
                try:
                    applied = apply_run(apply, run)
                except StoreUnavailableError:
                    self.maybe_pending = True
                    return results
                results.update(applied)
                try:
                    self._settle(applied)
                except JournalBusy:  # stored but not deleted: replayed later, stored once (see the module docstring)
                    return results

    def _settle(self, applied: dict[int, object]) -> None:
        """Delete the applied and the refused entries, mark the held ones; not fsync'd (the next append is): one
        replayed again is stored once."""
        held: dict[int, object] = {}
        for seq, result in applied.items():  # in order: once one is held, a later refusal may be its consequence
            if isinstance(result, Exception) and (is_held(result) or self.holding):
                held[seq], self.holding = result, True
        self.held_now.update(held)

        def settle(db) -> None:
            db.execute("PRAGMA synchronous=NORMAL")
            try:
                db.executemany("DELETE FROM entries WHERE seq = ?", [(s,) for s in applied if s not in held])
                db.executemany(
                    "UPDATE entries SET held = 1, error = ? WHERE seq = ?",
                    [(scrub(f"{type(r).__name__}: {r}")[:500], s) for s, r in held.items()],
                )
            finally:
                db.execute("PRAGMA synchronous=FULL")

        self._db.run(settle)

    # -- closing --------------------------------------------------------------------------------
    def _at_exit(self) -> None:
        """At interpreter exit: what waits in memory goes to the file if it can; what cannot is said."""
        self._write_backlog()
        if self.backlog:
            log.error(
                "scope-router: %d entries (outcomes, scores) could not be written to the journal at %s and are lost "
                "at exit", len(self.backlog), self.path,
            )  # fmt: skip
        self._db.note_count(self._count(mine=False))
        with contextlib.suppress(JournalBusy):  # the entries into the file itself, the -wal file emptied
            self._db.run(lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))

    def close(self) -> None:
        self._at_exit()
        atexit.unregister(self._at_exit)
        self._db.close()
        if self._own_lock is not None:
            self._own_lock.release()
            with contextlib.suppress(OSError):
                Path(self._own_lock.lock_file).unlink()
