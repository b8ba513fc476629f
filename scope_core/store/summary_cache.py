"""A process-local, time-bounded cache of prompt records' summaries (token count and per-model stats).

Fetching 128 neighbours' metadata costs Chroma more than the search itself (about 5 ms of 9 ms on
100k prompts here), and over HTTP it is the bulk of the bytes. Routed traffic revisits the same
regions, so the store searches for ids only and reads just the records it has not seen lately.
Entries live ``ttl_s`` seconds; the store drops an entry at once when it writes that prompt, so
only other processes' writes take up to ``ttl_s`` to show.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cachetools import TTLCache

from scope_core.store import summary as sm


@dataclass(frozen=True)
class PromptSummary:
    """What a neighbour contributes to an estimate: its token count and every model's summary."""

    tokens: float
    stats: dict[str, tuple[float, ...]]

    @classmethod
    def from_meta(cls, meta: Mapping[str, object] | None) -> PromptSummary:
        """Summaries as tuples of floats: the garbage collector stops tracking them, so a full cache
        (hundreds of thousands of objects) does not make its full collections take ~100 ms."""
        meta = meta or {}
        stats = sm.loads(meta.get("stats"))  # type: ignore[arg-type]
        return cls(float(meta.get("tok", 0)), {m: tuple(v) for m, v in stats.items()})


class SummaryCache:
    """Thread-safe TTL cache of PromptSummary by prompt id, with a running hit rate."""

    def __init__(self, ttl_s: float = 5.0, max_size: int = 20_000, warm_at: float = 0.5) -> None:
        self._entries: TTLCache[str, PromptSummary] = TTLCache(maxsize=max_size, ttl=ttl_s)
        self._lock = threading.Lock()
        self._hit_rate = 0.0
        self._warm_at = warm_at

    @property
    def warm(self) -> bool:
        """Whether recent neighbourhoods were mostly cached: then an ids-only search pays off."""
        return self._hit_rate >= self._warm_at

    def lookup(self, ids: Sequence[str]) -> dict[str, PromptSummary]:
        """The cached entries among ``ids``; updates the hit rate."""
        with self._lock:
            found = {i: e for i in ids if (e := self._entries.get(i)) is not None}
            if ids:
                self._hit_rate = 0.8 * self._hit_rate + 0.2 * len(found) / len(ids)
        return found

    def put(self, ids: Sequence[str], metas: Sequence[Mapping[str, object] | None]) -> dict[str, PromptSummary]:
        entries = {i: PromptSummary.from_meta(m) for i, m in zip(ids, metas, strict=True)}
        with self._lock:
            self._entries.update(entries)
        return entries

    def discard(self, ids: Iterable[str]) -> None:
        with self._lock:
            for i in ids:
                self._entries.pop(i, None)
