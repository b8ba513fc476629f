"""WriterPriors: one writer's share of the model priors, kept in a delta record only it writes.

Model priors (each model's summary over all its outcomes) are a base per model plus one delta record per
writer (``__priors__/<writer id>``): concurrent processes never read-modify-write the same record, so none
can lose another's update. A write with ``attempts`` (journal entry ids) counts its priors exactly once,
even when it fails halfway and is retried: its delta is written first, with the attempt ids marked done in
the writer's record, and only then its outcome records (see ``scope_core.store.behaviour``).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from scope_core.store import summary as sm

DELTA_PREFIX = "__priors__/"  # per-writer prior deltas, never a model name
DELTA_KIND = {"kind": "delta"}  # marks delta records, so they are read without the rest of the registry
TABLE_VECTOR = [0.0]  # the registry is a table: one constant 1-d vector


class WriterPriors:
    """This writer's delta record in the registry collection ``models`` (thread-safe)."""

    def __init__(self, models: Any) -> None:
        self._models = models
        self.lock = threading.Lock()
        self._id = DELTA_PREFIX + uuid.uuid4().hex
        self._delta: dict[str, sm.Summary] = {}  # this writer's prior delta since its record was made
        self._open: set[str] = set()  # attempts counted in the delta record, outcome records not yet written
        self._unsure = False  # a delta write failed: the record may or may not hold it

    def counted_attempts(self) -> set[str]:
        """The attempt ids some writer's delta record holds as counted (outcomes maybe not yet written)."""
        got = self._models.get(where=DELTA_KIND, include=["metadatas"])
        return {a for meta in got["metadatas"] for a in json.loads(str((meta or {}).get("done") or "[]"))}

    def count_once(self, attempts: Sequence[str], delta: dict[str, sm.Summary], retried: bool) -> None:
        """Add ``delta`` to this writer's record with ``attempts`` marked done, unless a retry finds them done."""
        if retried:
            done = self.counted_attempts() & set(attempts)
            if done and done != set(attempts):
                raise ValueError("a retried batch mixes counted and uncounted attempts: retry them one by one")
            if done:
                return
        self.add(delta, attempts)

    def add(self, delta: Mapping[str, sm.Summary], attempts: Sequence[str] = ()) -> None:
        """Add the change to this writer's own delta record (no other writer touches it)."""
        if not delta and not attempts:
            return
        with self.lock:
            if self._unsure:  # a failed write may have landed: the record is the truth, re-read it
                self._reload()
            total = {m: list(v) for m, v in self._delta.items()}
            sm.merge(total, delta)
            done = self._open | set(attempts)
            self._unsure = True
            self._models.upsert(
                ids=[self._id],
                embeddings=[TABLE_VECTOR],
                metadatas=[{"priors": sm.dumps(total), "done": json.dumps(sorted(done)), **DELTA_KIND}],
            )
            self._unsure = False
            self._delta, self._open = total, done

    def settled(self, attempts: Sequence[str]) -> None:
        """These attempts' outcome records are written: they no longer need their mark."""
        self._open.difference_update(attempts)

    def reset(self) -> None:
        """Every delta record was folded into the base priors and deleted (``rebuild``; hold ``lock``)."""
        self._delta, self._open, self._unsure = {}, set(), False

    def _reload(self) -> None:
        got = self._models.get(ids=[self._id], include=["metadatas"])
        meta = got["metadatas"][0] if got["ids"] else {}
        self._delta = sm.loads(meta.get("priors"))
        self._open = set(json.loads(str(meta.get("done") or "[]")))
        self._unsure = False
