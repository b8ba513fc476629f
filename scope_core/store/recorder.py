"""Recorder: a Router's outcome, score and model registration writes, journal first, then the store.

A write is accepted once its journal entry is fsync'd (``scope_core.journal``), so no accepted
outcome is lost, not even to ``kill -9``; when the journal file cannot be written in time the entry waits in
memory (the journal's backlog), written later. Entries are applied to the store in order by one drain at
a time: a caller that waits (``wait=True``) drains itself, and entries that piled up meanwhile
(other threads' writes) go in the same store batch; ``wait=False`` leaves the drain to the
background writer thread. While the store is unavailable the entries wait in the journal, and the writer
replays them every ``tick_s`` seconds, with or without new traffic; ``settle`` waits until they are stored.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from scope_core.outcome import Outcome
from scope_core.scrub import private_error
from scope_core.specs import ModelSpec
from scope_core.store.decisions import score_event
from scope_core.store.journal import Journal
from scope_core.store.journal_runs import Entry
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
        self.writer = OutcomeWriter(idle=self._idle)
        self.writer.start()  # it looks at what waits every second, with or without traffic
        self._drain_lock = threading.Lock()  # one drain at a time: the store sees entries in order
        self._results_lock = threading.Lock()
        self._waiting: set[int] = set()
        self._results: dict[int, object] = {}
        self._kicked = False
        self.refused = 0  # entries the store refused that no caller waited for (deleted, counted)

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
            payload["decisions"] = [self._private(d, batch) for d in decisions]
        result = self._settle("outcomes", payload, wait)
        return int(result) if isinstance(result, int) else 0

    def score(self, outcome_id: str, score: float, *, wait: bool) -> None:
        """Journal a score, then (``wait``) set it; UnknownRunError when the store holds no such outcome."""
        self._settle("score", {"id": outcome_id, "score": score}, wait)

    def model(self, spec: ModelSpec, *, wait: bool) -> None:
        """Journal a model's registration, then (``wait``) store it: outcomes of it journaled after wait for it."""
        self._settle("model", {"spec": spec.model_dump(mode="json")}, wait)

    def _payload(self, batch: Sequence[Outcome], known: Mapping[str, np.ndarray], counts: Mapping[str, int]) -> dict:
        """The entry of a batch: its records and, per prompt, what the store needs (no text unless kept)."""
        texts = {o.prompt_hash: (o.prompt, o.task) for o in batch if o.prompt is not None}
        todo = [h for h in texts if h not in known]
        vectors = dict(known) | dict(zip(todo, self._embed([texts[h][0] for h in todo]) if todo else [], strict=True))
        keep_text = self.store.store_prompts
        records = [o.model_dump(mode="json", exclude={"prompt"}) for o in batch]
        for record, o in zip(records, batch, strict=True):
            if o.error is not None and not keep_text:  # no prompt text kept: nor any echo of it in an error
                record["error"] = private_error(o.error, o.prompt)
        return {
            "outcomes": records,
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

    def _private(self, decision: Mapping[str, Any], batch: Sequence[Outcome]) -> dict[str, Any]:
        """A decision record's attempt errors as the store keeps them (``private_error`` when it keeps no prompts)."""
        if self.store.store_prompts:
            return dict(decision)
        prompt = "\n".join(o.prompt for o in batch if o.prompt)
        attempts = [
            {**a, "error": None if a.get("error") is None else private_error(a["error"], prompt)}
            for a in decision["record"].get("attempts", ())
        ]
        return {**decision, "record": {**decision["record"], "attempts": attempts}}

    def _settle(self, kind: str, payload: dict[str, Any], wait: bool) -> object:
        """Append the entry; without ``wait`` leave it to the background writer, else drain and return its
        result (None while the store is unavailable), raising what storing it raised."""
        if not wait:
            self.journal.append(kind, payload)
            self.kick()
            return None
        with self._results_lock:  # registered before a concurrent drain can take it
            seq = self.journal.append(kind, payload)
            if seq is not None:
                self._waiting.add(seq)
        if seq is None:  # waits in memory: the writer stores it once the journal file can be written
            self.kick()
            return None
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

    def _idle(self) -> None:
        """The writer's look at what waits: replay it (the store may be back, the journal writable again)."""
        if self.journal.needs_replay():
            self.drain()

    def drain(self, retry_held: bool = False) -> int:
        """Store what the journal holds for this owner (and for dead owners); returns entries applied."""
        with self._drain_lock:
            results = self.journal.replay(self._apply, retry_held=retry_held)
            if results:
                self._on_stored()
                self.store.secure()
            with self._results_lock:
                for seq, result in results.items():
                    if seq in self._waiting:
                        self._results[seq] = result
                    elif isinstance(result, Exception):
                        held = seq in self.journal.held_now
                        self.refused += not held
                        fate = "kept in the journal (held: tried again by replay_journal() or the next process)"
                        fate = fate if held else "refused by the store (counted in router.status())"
                        log.error("scope-router: journal entry #%d cannot be stored, %s: %r", seq, fate, result)
        return len(results)

    def settle(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds until what this router wrote is stored; returns how many entries still
        wait (in memory or in the journal; held ones are not waiting)."""
        deadline = time.monotonic() + timeout
        self.writer.flush(timeout)
        while True:
            if self._drain_lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
                self._drain_lock.release()
                self.drain()
            left = self.journal.waiting()
            if left == 0 or time.monotonic() >= deadline:
                return left
            time.sleep(min(0.1, max(deadline - time.monotonic(), 0.0)))

    def _apply(self, kind: str, entries: list[Entry]) -> list[int | None]:
        """Store a run of entries of one kind: each entry's result (records changed, or None for a score)."""
        if kind == "score":  # one batch: a retried one whose attempts were partly counted fails, then goes one by one
            pairs = [(e.payload["id"], e.payload["score"]) for e in entries]
            self.store.set_scores(pairs, attempts=[e.attempt for e in entries], retried=entries[0].retried)
            self.store.decisions.append(scores=[score_event(i, s) for i, s in pairs])
            return [None] * len(entries)
        if kind == "model":
            for e in entries:
                self.store.put_model(ModelSpec.model_validate(e.payload["spec"]))
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
