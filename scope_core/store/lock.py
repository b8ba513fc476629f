"""One embedded store folder, one process: a lock file held for the life of the process.

Chroma's embedded (SQLite + HNSW files) store is not safe to share between processes; two
processes writing one folder damage it. The first process to open a folder holds
``<folder>/scope.lock``; any other fails at once with ``StoreLockedError`` saying to serve the
folder with ``chroma run`` and open its URL instead. Opening the folder again in the same process
reuses the lock.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from filelock import FileLock, Timeout

from scope_core.errors import StoreLockedError
from scope_core.store.files import FILE_MODE, write_private

LOCK_NAME = "scope.lock"
_held: dict[Path, FileLock] = {}
_guard = threading.Lock()


def lock_store_folder(folder: Path) -> None:
    """Hold ``folder``'s lock for this process, or raise StoreLockedError if another process holds it."""
    folder = folder.resolve()
    with _guard:
        if folder in _held:
            return
        lock = FileLock(folder / LOCK_NAME, thread_local=False, mode=FILE_MODE)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            owner = _owner(folder)
            raise StoreLockedError(
                f"the embedded store at {folder} is already open in another process{owner}; an embedded store "
                f"serves one process only. To share it, serve it with `chroma run --path {folder} --port 8000` "
                f"and open http://localhost:8000 (--store http://localhost:8000) in every process"
            ) from None
        write_private(folder / f"{LOCK_NAME}.pid", str(os.getpid()).encode())
        _held[folder] = lock


def _owner(folder: Path) -> str:
    try:
        return f" (pid {int((folder / f'{LOCK_NAME}.pid').read_text())})"
    except (OSError, ValueError):
        return ""
