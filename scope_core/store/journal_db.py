"""The SQLite file behind a journal: owner-only, every statement bounded in time, damage named and survived.

- Every statement waits at most ``wait_s`` for the file (another thread, or a peer process holding its lock, even
  one stopped with SIGSTOP): past that, or when the disk is full, ``JournalBusy`` says to try again later.
- A file that is not a database or is malformed (at open or later) is moved aside as ``<name>.damaged-<time>``
  with a warning naming both paths, what could be read back from it (put in the fresh journal) and how to try to
  recover the rest; a journal emptied or deleted while closed is named with how many entries it held when last
  counted (``<stem>-state.json``, rewritten at close and after each drain).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import orjson

from scope_core.store.files import private_dir, private_file, set_aside, write_private

log = logging.getLogger("scope_core")
T = TypeVar("T")
COLUMNS = ("owner", "attempt", "held", "error")  # added to journals written before them


class JournalBusy(Exception):
    """The journal file cannot be written now (locked by another process, disk full, damaged and just replaced)."""


class JournalDB:
    """One connection to the journal file, used by one statement at a time (thread-safe)."""

    def __init__(self, path: Path | None, wait_s: float) -> None:
        self.path, self.wait_s = path, wait_s
        self.problems: list[str] = []  # what was found damaged and set aside, in words
        self.lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._state = path.with_name(f"{path.stem}-state.json") if path is not None else None
        self._counted = -1
        if path is not None:
            with contextlib.suppress(OSError):  # no room for the folder: the file cannot open, entries wait in memory
                private_dir(path.parent)
            self._check_emptied()
        with contextlib.suppress(JournalBusy):
            self.run(lambda db: None)

    # -- statements ---------------------------------------------------------------------------
    def run(self, work: Callable[[sqlite3.Connection], T], wait_s: float | None = None) -> T:
        """``work(connection)`` under the lock, every wait bounded by ``wait_s``; JournalBusy when it cannot be done
        now (a damaged file is set aside and a fresh one opened first)."""
        wait = self.wait_s if wait_s is None else wait_s
        deadline = time.monotonic() + wait
        if not self.lock.acquire(timeout=wait):
            raise JournalBusy(f"journal at {self.path} is busy (another thread held it {wait:g} s)")
        try:
            conn = self._conn or self._open()
            conn.execute(f"PRAGMA busy_timeout = {max(1, int((deadline - time.monotonic()) * 1000))}")
            return work(conn)
        except sqlite3.OperationalError as exc:  # locked, full, read-only, I/O: the file is fine, try later
            raise JournalBusy(f"journal at {self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:  # not a database, malformed: set it aside, go on with a fresh one
            with contextlib.suppress(sqlite3.Error, OSError):
                self._damaged(exc)
            raise JournalBusy(f"journal at {self.path} was damaged ({exc})") from exc
        finally:
            self.lock.release()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            str(self.path) if self.path else ":memory:", timeout=self.wait_s, isolation_level=None,
            check_same_thread=False,
        )  # fmt: skip
        try:
            if self.path is not None:
                private_file(self.path)  # before any entry is written; -wal and -shm take its mode
            conn.execute(f"PRAGMA busy_timeout = {int(self.wait_s * 1000)}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, body BLOB, "
                "owner TEXT, attempt TEXT, held INTEGER DEFAULT 0, error TEXT)"
            )
            columns = {row[1] for row in conn.execute("PRAGMA table_info(entries)")}
            for column in [c for c in COLUMNS if c not in columns]:  # a journal written before the column
                kind = "INTEGER DEFAULT 0" if column == "held" else "TEXT"
                with contextlib.suppress(sqlite3.OperationalError):  # another process added it meanwhile
                    conn.execute(f"ALTER TABLE entries ADD COLUMN {column} {kind}")
                if column == "attempt":
                    conn.execute("UPDATE entries SET attempt = lower(hex(randomblob(16))) WHERE attempt IS NULL")
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    # -- damage -------------------------------------------------------------------------------
    def _check_emptied(self) -> None:
        """A journal that was emptied (0 bytes) or deleted while closed, though entries were pending in it."""
        assert self.path is not None
        held = self.last_count()
        if held <= 0:
            return
        if not self.path.exists():
            self._report(f"journal at {self.path} is missing (deleted while closed)", None, held, 0)
        elif self.path.stat().st_size == 0:
            try:
                aside: Path | None = set_aside(self.path, "-wal", "-shm")
            except OSError:
                aside = None
            self._report(f"journal at {self.path} is empty (0 bytes: truncated while closed)", aside, held, 0)
        self.note_count(0)

    def _damaged(self, exc: sqlite3.DatabaseError) -> None:
        """Set a damaged journal aside (keeping the rows that can still be read) and open a fresh one; lock held."""
        rows = self._salvage()
        with contextlib.suppress(sqlite3.Error):
            if self._conn is not None:
                self._conn.close()
        self._conn = None
        aside = set_aside(self.path, "-wal", "-shm") if self.path is not None else None
        fresh = self._open()
        fresh.executemany(
            "INSERT INTO entries (seq, kind, body, owner, attempt) VALUES (?, ?, ?, ?, ?)", [tuple(r) for r in rows]
        )
        self._report(f"journal at {self.path} is damaged ({exc})", aside, self.last_count(), len(rows))

    def _salvage(self) -> list[tuple]:
        """The entries still readable from the damaged file, in order, until the first that is not."""
        rows: list[tuple] = []
        with contextlib.suppress(sqlite3.Error, AttributeError):
            cursor = self._conn.execute("SELECT seq, kind, body, owner, attempt FROM entries ORDER BY seq")  # type: ignore[union-attr]
            for row in cursor:
                rows.append(row)
        return rows

    def _report(self, what: str, aside: Path | None, held: int, kept: int) -> None:
        moved = f"; moved to {aside}" if aside is not None else ""
        lost = max(held - kept, 0) if held >= 0 else None
        count = f"{lost} of the {held} entries it held when last counted" if lost is not None else "entries it held"
        remedy = (
            f"; to try to recover more: sqlite3 {aside} .recover | sqlite3 recovered.sqlite, then re-record them"
            if aside is not None and kept == 0
            else "; re-record those outcomes and scores if you can"
        )
        message = f"{what}{moved}; {kept} entries read back into a fresh journal, {count} may be lost{remedy}"
        self.problems.append(message)
        log.warning("scope-router: %s", message)

    # -- the count kept beside the file --------------------------------------------------------
    def last_count(self) -> int:
        """Entries the journal held when last counted (-1: never counted)."""
        if self._state is None:
            return -1
        try:
            return int(orjson.loads(self._state.read_bytes())["pending"])
        except (OSError, ValueError, KeyError, TypeError):
            return -1

    def note_count(self, pending: int) -> None:
        """Remember how many entries the journal holds (for a journal found emptied later)."""
        if self._state is None or pending == self._counted:
            return
        with contextlib.suppress(OSError):
            write_private(self._state, orjson.dumps({"pending": pending, "t": time.time()}))
            self._counted = pending

    def close(self) -> None:
        with self.lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
