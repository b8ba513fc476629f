"""The Chroma client of a store location: an embedded folder (locked to this process), memory, or a server."""

from __future__ import annotations

import os
from pathlib import Path

import chromadb
import httpx

from scope_core.errors import StoreUnavailableError
from scope_core.scrub import scrub
from scope_core.store.lock import lock_store_folder


def default_location() -> Path:
    """Where a store opened without a location lives: ``$SCOPE_STORE``, else ``~/.scope/store`` (read at each open)."""
    return Path(os.environ.get("SCOPE_STORE") or Path.home() / ".scope" / "store")


DEFAULT_TIMEOUT_S = 5.0  # per HTTP call to a Chroma server


def chroma_client(location: str | Path | None, timeout_s: float = DEFAULT_TIMEOUT_S):
    """A Chroma client: embedded (folder, locked to this process), in memory, or HTTP with a timeout on every call."""
    if location is None:
        location = default_location()
    location = str(location)
    if location == ":memory:":
        return chromadb.EphemeralClient()
    if location.startswith(("http://", "https://")):
        return _http_client(location, timeout_s)
    Path(location).mkdir(parents=True, exist_ok=True)
    lock_store_folder(Path(location))
    return chromadb.PersistentClient(path=location)


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
        raise StoreUnavailableError(f"store at {scrub(location)} is unavailable ({exc})") from None
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(timeout_s)
    return client
