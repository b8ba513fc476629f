"""The Chroma client of a store location: an embedded folder (locked to this process), memory, or a server."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import chromadb
import httpx

from scope_core.errors import StoreCorruptedError
from scope_core.store.files import private_dir, secure_tree, write_private
from scope_core.store.lock import lock_store_folder


def default_location() -> Path:
    """Where a store opened without a location lives: ``$SCOPE_STORE``, else ``~/.scope/store`` (read at each open)."""
    return Path(os.environ.get("SCOPE_STORE") or Path.home() / ".scope" / "store")


DEFAULT_TIMEOUT_S = 5.0  # per HTTP call to a Chroma server


MARKER = ".scope-store"  # written in an embedded store's folder once its database exists
DATABASE = "chroma.sqlite3"


def chroma_client(location: str | Path | None, timeout_s: float = DEFAULT_TIMEOUT_S):
    """A Chroma client: embedded (folder, locked to this process, owner-only), in memory, or HTTP with a timeout on
    every call. An embedded folder whose database file was deleted or emptied raises StoreCorruptedError, naming
    it, rather than starting an empty store in its place."""
    if location is None:
        location = default_location()
    location = str(location)
    if location == ":memory:":
        return chromadb.EphemeralClient()
    if location.startswith(("http://", "https://")):
        return _http_client(location, timeout_s)
    folder = private_dir(Path(location))
    lock_store_folder(folder)
    database = folder / DATABASE
    if (folder / MARKER).exists() and (not database.exists() or database.stat().st_size == 0):
        gone = "was deleted" if not database.exists() else "was emptied (0 bytes)"
        raise StoreCorruptedError(
            f"its database file {database} {gone}; restore it from a backup, or move the folder aside to start an "
            "empty store (outcomes recorded meanwhile wait in the journal)"
        )
    try:
        client = chromadb.PersistentClient(path=location)
    except Exception:
        _forget(location)
        raise
    write_private(folder / MARKER, b"chroma.sqlite3 holds this store\n")
    secure_tree(folder)
    return client


def _forget(location: str) -> None:
    """Drop what Chroma keeps for a folder whose client failed to start (a damaged database): it caches one system
    per folder, half made, and the next try must start afresh (private to chromadb 1.5)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    with contextlib.suppress(Exception):
        SharedSystemClient._identifier_to_system.pop(location, None)
        SharedSystemClient._identifier_to_refcount.pop(location, None)


def _http_client(location: str, timeout_s: float):
    """HttpClient whose session times out after ``timeout_s``: Chroma's own has no timeout at all."""
    from urllib.parse import urlparse

    url = urlparse(location)
    host, port, ssl = url.hostname or "localhost", url.port or 8000, url.scheme == "https"
    # Chroma's constructor calls the server without a timeout: probe it with one first
    httpx.get(f"{url.scheme}://{host}:{port}/api/v2/heartbeat", timeout=timeout_s).raise_for_status()
    try:
        client = chromadb.HttpClient(host=host, port=port, ssl=ssl)
    except ValueError as exc:  # "Could not connect to a Chroma server"
        raise ConnectionError(str(exc)) from None
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(timeout_s)
    return client
