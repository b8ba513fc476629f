"""Recorder: a Router's outcome and score writes, journal first, then the store.

A write is accepted once its journal entry is fsync'd (``scope_core.journal``), so no accepted
outcome is lost, not even to ``kill -9``. Entries are applied to the store in order by one drain at
a time: a caller that waits (``wait=True``) drains itself, and entries that piled up meanwhile
(other threads' writes) go in the same store batch; ``wait=False`` leaves the drain to the
background writer thread. While the store is unavailable the entries wait in the journal.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from scope_core.outcome import Outcome
from scope_core.store.decisions import score_event
from scope_core.store.journal import Entry, Journal
from scope_core.store.records import PromptInfo
from scope_core.store.writer import OutcomeWriter

if TYPE_CHECKING:
    from scope_core.store.behaviour import BehaviourStore

log = logging.getLogger("scope_core")


class Recorder:
    """Journals writes, then drains the journal into the store (thread-safe)."""

    def __init__(
        self,
        store: BehaviourStore,
        journal: Journal,
        embed: Callable[[Sequence[str]], np.ndarray],
        count_tokens: Callable[[str], int],
        on_stored: Callable[[], None],
    ) -> None:
        self.store, self.journal = store, journal
        self._embed, self._count_tokens, self._on_stored = embed, count_tokens, on_stored
        self.writer = OutcomeWriter()
        self._drain_lock = threading.Lock()  # one drain at a time: the store sees entries in order
        self._results_lock = threading.Lock()
        self._waiting: set[int] = set()
        self._results: dict[int, object] = {}
        self._kicked = False

    # -- accepting ----------------------------------------------------------------------------
    def outcomes(
        self,
        batch: Sequence[Outcome],
        *,
        wait: bool,
        embeddings: Mapping[str, np.ndarray] | None = None,
        decisions: Sequence[Mapping[str, Any]] = (),
        tokens: Mapping[str, int] | None = None,
    ) -> int:
        """Journal outcomes (and the decision records of calls they end), then (``wait``) store them; how many
        outcome records changed (0 while journaled). ``embeddings`` (by prompt hash) are those the caller already
        has: only the other prompts are embedded; ``tokens`` (by prompt hash) are the counts of the whole prompts
        a routed call sent (a conversation's, not its routing text's): the other prompts' texts are counted."""
        payload = self._payload(batch, embeddings or {}, tokens or {})
        if decisions:
            payload["decisions"] = list(decisions)
        result = self._settle("outcomes", payload, wait)
        return int(result) if isinstance(result, int) else 0

    def score(self, outcome_id: str, score: float, *, wait: bool) -> None:
        """Journal a score, then (``wait``) set it; KeyError when the store holds no such outcome."""
        self._settle("score", {"id": outcome_id, "score": score}, wait)

    def _payload(self, batch: Sequence[Outcome], known: Mapping[str, np.ndarray], counts: Mapping[str, int]) -> dict:
        """The entry of a batch: its records and, per prompt, what the store needs (no text unless kept)."""
        texts = {o.prompt_hash: (o.prompt, o.task) for o in batch if o.prompt is not None}
        todo = [h for h in texts if h not in known]
        vectors = dict(known) | dict(zip(todo, self._embed([texts[h][0] for h in todo]) if todo else [], strict=True))
        keep_text = self.store.store_prompts
        return {
            "outcomes": [o.model_dump(mode="json", exclude={"prompt"}) for o in batch],
            "prompts": {
                h: {
                    "embedding": vectors[h],
                    "tokens": counts[h] if h in counts else self._count_tokens(t),
                    "task": task,
                    "text": t if keep_text else None,
                }
                for h, (t, task) in texts.items()
            },
        }

    def _settle(self, kind: str, payload: dict[str, Any], wait: bool) -> object:
        """Append the entry; without ``wait`` leave it to the background writer, else drain and return its
        result (None while the store is unavailable), raising what storing it raised."""
        if not wait:
            self.journal.append(kind, payload)
            self.kick()
            return None
        with self._results_lock:  # registered before a concurrent drain can take it
            seq = self.journal.append(kind, payload)
            self._waiting.add(seq)
        try:
            self.drain()
        finally:
            with self._results_lock:
                self._waiting.discard(seq)
                result = self._results.pop(seq, None)
        if isinstance(result, Exception):
            raise result
        return result

    # -- draining -----------------------------------------------------------------------------
    def kick(self) -> None:
        """Have the background writer drain the journal (once, however often kicked before it runs)."""
        with self._results_lock:
            if self._kicked:
                return
            self._kicked = True
        self.writer.submit(self._background_drain)

    def _background_drain(self) -> None:
        with self._results_lock:
            self._kicked = False
        self.drain()

    def drain(self) -> int:
        """Store what the journal holds for this owner (and for dead owners); returns entries applied."""
        with self._drain_lock:
            results = self.journal.replay(self._apply)
            if results:
                self._on_stored()
            with self._results_lock:
                for seq, result in results.items():
                    if seq in self._waiting:
                        self._results[seq] = result
                    elif isinstance(result, Exception):
                        log.error("scope-router: journal entry #%d cannot be stored; dropped (%r)", seq, result)
        return len(results)

    def _apply(self, kind: str, entries: list[Entry]) -> list[int | None]:
        """Store a run of entries of one kind: each entry's result (records changed, or None for a score)."""
        if kind == "score":
            for e in entries:
                self.store.set_score(e.payload["id"], e.payload["score"], attempts=[e.attempt], retried=e.retried)
            self.store.decisions.append(scores=[score_event(e.payload["id"], e.payload["score"]) for e in entries])
            return [None] * len(entries)
        if kind != "outcomes":
            raise ValueError(f"unknown journal entry kind {kind!r}")
        if not entries[0].retried:
            return self._store_outcomes(entries, retried=False)
        done = self.store.writer_priors.counted_attempts()  # one read tells which retried entries were counted
        results: list[int | None] = []
        for counted, group in itertools.groupby(entries, key=lambda e: e.attempt in done):
            if counted:  # stored again without counting, one by one
                for e in group:
                    results += self._store_outcomes([e], retried=True)
            else:  # never counted, so never stored: as good as fresh
                results += self._store_outcomes(list(group), retried=False)
        return results

    def _store_outcomes(self, entries: list[Entry], *, retried: bool) -> list[int | None]:
        prompts = {
            h: PromptInfo(h, np.asarray(p["embedding"], dtype=np.float32), int(p["tokens"]), p["text"], p["task"])
            for e in entries
            for h, p in e.payload["prompts"].items()
        }
        per_entry = [[Outcome.model_validate(o) for o in e.payload["outcomes"]] for e in entries]
        changed = set(
            self.store.add_ids(
                [o for batch in per_entry for o in batch],
                prompts,
                attempts=[e.attempt for e in entries],
                retried=retried,
            )
        )
        logged = [(d["record"], d["summary"]) for e in entries for d in e.payload.get("decisions", ())]
        if logged:
            self.store.decisions.append(decisions=logged)
        return [sum(o.id in changed for o in batch) for batch in per_entry]
