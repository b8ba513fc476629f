"""The writes of a BehaviourStore: outcomes (idempotent by id), scores, prompt summaries, and the repair that
re-derives summaries and priors from the outcome records.

Prompt summaries are derived from the outcome records and re-derived after each write, then checked against
the record count and rebuilt if another writer raced in between; a write that finds a prompt's summary out
of line with its records (a writer killed midway) re-derives it.

A write with ``attempts`` (journal entry ids, ``scope_core.store.journal``) counts its priors exactly once,
even when it fails halfway and is retried: its delta is written first, with the attempt ids marked done in
the writer's delta record (``scope_core.store.priors``), and only then its outcome records. A retry that
finds the ids counted writes the outcomes without counting them again; one that does not counts them
against what the store holds then (a write that never happened).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from scope_core.errors import ScopeError, UnknownModelError, UnknownRunError
from scope_core.outcome import Outcome
from scope_core.specs import ModelSpec
from scope_core.store import summary as sm
from scope_core.store.priors import DELTA_PREFIX, TABLE_VECTOR, WriterPriors
from scope_core.store.records import PromptInfo, batches, meta_of, reserved, same_meta, same_stats, summary_delta
from scope_core.store.summary_cache import SummaryCache


class StoreWrites:
    """Writes and repair, over the collections a ``BehaviourStore`` opens."""

    _prompts: Any
    _outcomes: Any
    _models: Any
    _summaries: SummaryCache
    writer_priors: WriterPriors
    store_prompts: bool
    inconsistent_found: int

    def models(self) -> dict[str, ModelSpec]: ...
    def known_prompts(self, hashes: Sequence[str]) -> set[str]: ...
    def outcome(self, outcome_id: str) -> dict[str, object] | None: ...
    def outcomes_for(self, prompt_hashes: Sequence[str]) -> list[dict[str, object]]: ...
    def all_outcomes(self, page: int = 5000) -> Iterator[dict[str, object]]: ...

    def add(self, outcomes: Sequence[Outcome], prompts: Mapping[str, PromptInfo]) -> int:
        """Store outcomes (idempotent by id) and any new prompts; returns how many records changed.

        ``prompts`` must describe every prompt hash the store does not hold yet.
        """
        return len(self.add_ids(outcomes, prompts))

    def add_ids(
        self,
        outcomes: Sequence[Outcome],
        prompts: Mapping[str, PromptInfo],
        *,
        attempts: Sequence[str] = (),
        retried: bool = False,
    ) -> list[str]:
        """``add``, returning the ids of the outcome records that were new or changed.

        With ``attempts`` (the ids of the journal entries the batch holds) the priors count it once however
        often it is retried (see the module docstring); ``retried``: the batch (then one entry) may have been
        tried before.
        """
        if not outcomes:
            return []
        named = self._models.get(ids=list({o.model for o in outcomes}), include=[])["ids"]
        known_models = {i for i in named if not reserved(i)}
        for outcome in outcomes:
            if outcome.model not in known_models:
                raise UnknownModelError(f"model '{outcome.model}' is not registered; call register_model first")
        unique = {o.id: o for o in outcomes}
        metas = {oid: meta_of(o) for oid, o in unique.items()}
        existing: dict[str, dict] = {}
        for batch in batches(list(unique)):
            got = self._outcomes.get(ids=list(batch), include=["metadatas"])
            existing.update(zip(got["ids"], got["metadatas"], strict=True))
        changed = [oid for oid, meta in metas.items() if not same_meta(existing.get(oid), meta)]
        moved_from = [str(existing[oid]["p"]) for oid in changed if oid in existing]  # an edited prompt text
        hashes = list(dict.fromkeys(str(metas[oid]["p"]) for oid in changed))
        refreshed = set(hashes)
        suspect = [h for h in dict.fromkeys(str(metas[o]["p"]) for o in unique if o in existing) if h not in refreshed]
        if suspect:  # records already stored: is their summary in line (was an earlier writer killed)?
            found = self._repair_summaries(suspect)
            self.inconsistent_found += found
        if not changed:
            self.writer_priors.settled(attempts)
            return []
        known = self.known_prompts(hashes)
        missing = [h for h in hashes if h not in known]
        absent = [h for h in missing if h not in prompts]
        if absent:
            raise ScopeError(f"{len(absent)} outcome(s) refer to prompts the store does not hold (e.g. {absent[0]})")
        folded = sm.fold(metas[i] for i in changed)
        delta = summary_delta(new=folded, old=sm.fold(existing[i] for i in changed if i in existing))
        if attempts:  # the delta first, marked with the attempts: a retry can tell it was counted
            self.writer_priors.count_once(attempts, delta, retried)
        # a journaled write's new prompts get their summary at once (this batch's records): a retry re-derives
        # it; a bare write's (an ingest) only after its outcomes and delta, so a kill leaves it out of line
        self._add_prompts([prompts[h] for h in missing], folded if attempts else None)
        for batch in batches([i for i in changed if i not in existing], 2048):
            self._outcomes.add(
                ids=list(batch), embeddings=[TABLE_VECTOR] * len(batch), metadatas=[metas[i] for i in batch]
            )
        for batch in batches([i for i in changed if i in existing]):
            self._outcomes.update(ids=list(batch), metadatas=[metas[i] for i in batch])
        if not attempts:
            self.writer_priors.add(delta)
        self.writer_priors.settled(attempts)
        settled = self._only_these(missing, Counter(str(metas[i]["p"]) for i in changed)) if attempts else set()
        self.refresh_summaries([h for h in dict.fromkeys(hashes + moved_from) if h not in settled])
        return changed

    def set_score(self, outcome_id: str, score: float, *, attempts: Sequence[str] = (), retried: bool = False) -> None:
        """Attach a quality score to a stored outcome (feedback that arrives after the call); ``attempts``
        and ``retried`` as for ``add``."""
        self.set_scores([(outcome_id, score)], attempts=attempts, retried=retried)

    def set_scores(
        self, scores: Sequence[tuple[str, float]], *, attempts: Sequence[str] = (), retried: bool = False
    ) -> None:
        """``set_score`` for many (outcome id, score) pairs in one batch (the last score of an id wins); an unknown id
        raises UnknownRunError and nothing is written."""
        final = dict(scores)
        metas: dict[str, dict] = {}
        for batch in batches(list(final)):
            got = self._outcomes.get(ids=list(batch), include=["metadatas"])
            metas.update(zip(got["ids"], got["metadatas"], strict=True))
        if missing := [i for i in final if i not in metas]:
            raise UnknownRunError(f"no stored outcome with id '{missing[0]}'")
        updated = {i: {**metas[i], "s": float(s)} for i, s in final.items()}
        changed = [i for i in final if not same_meta(metas[i], updated[i])]
        if not changed:
            self.writer_priors.settled(attempts)
            return
        delta = summary_delta(new=sm.fold(updated[i] for i in changed), old=sm.fold(metas[i] for i in changed))
        if attempts:
            self.writer_priors.count_once(attempts, delta, retried)
        for batch in batches(changed):
            self._outcomes.update(ids=list(batch), metadatas=[updated[i] for i in batch])
        if not attempts:
            self.writer_priors.add(delta)
        self.writer_priors.settled(attempts)
        self.refresh_summaries(list(dict.fromkeys(str(metas[i]["p"]) for i in changed)))

    def refresh_summaries(self, prompt_hashes: Sequence[str], max_rounds: int = 5) -> None:
        """Re-derive the packed summaries of these prompts from their outcome records.

        After writing, the record count is read back; a prompt whose count moved (a concurrent
        writer) is derived again, so the last writer always leaves a complete summary.
        """
        pending = list(dict.fromkeys(prompt_hashes))
        for _ in range(max_rounds):
            if not pending:
                return
            records = self.outcomes_for(pending)
            folded = sm.fold(records)
            counts = Counter(str(r["p"]) for r in records)
            for batch in batches(pending):
                self._prompts.update(
                    ids=list(batch),
                    metadatas=[{"stats": sm.dumps(folded.get(h, {}))} for h in batch],
                )
            self._summaries.discard(pending)
            after = Counter(str(r["p"]) for r in self.outcomes_for(pending))
            pending = [h for h in pending if after[h] != counts[h]]

    def _only_these(self, hashes: Sequence[str], counts: Mapping[str, int]) -> set[str]:
        """Those of these new prompts whose outcome records are just the ``counts`` this write made (no
        concurrent writer added any): the summary they were created with is complete."""
        found = Counter(str(r["p"]) for r in self.outcomes_for(hashes)) if hashes else Counter()
        return {h for h in hashes if found[h] == counts[h]}

    def _add_prompts(
        self, infos: Sequence[PromptInfo], stats: Mapping[str, Mapping[str, sm.Summary]] | None = None
    ) -> None:
        """Add prompt records, each with its summary in ``stats`` (if any)."""
        stats = stats or {}
        for batch in batches(list(infos)):
            metas = [
                {
                    "tok": int(p.tokens),
                    **({"task": p.task} if p.task else {}),
                    **({"stats": sm.dumps(stats[p.hash])} if p.hash in stats else {}),
                }
                for p in batch
            ]
            self._prompts.add(
                ids=[p.hash for p in batch],
                embeddings=np.stack([p.embedding for p in batch]).astype(np.float32),
                metadatas=metas,
                documents=[(p.text or "") if self.store_prompts else "" for p in batch],
            )

    def delete_outcomes_of(self, models: Sequence[str]) -> int:
        """Delete every outcome record of these models and re-derive the summaries they were in; returns how many
        records went. Rebuild the priors after (``rebuild_priors``); no other process should write meanwhile."""
        ids, hashes = [], set()
        for model in models:
            got = self._outcomes.get(where={"m": model}, include=["metadatas"])
            ids += got["ids"]
            hashes.update(str(m["p"]) for m in got["metadatas"])
        for batch in batches(ids):
            self._outcomes.delete(ids=list(batch))
        self.refresh_summaries(sorted(hashes))
        return len(ids)

    # -- repair -------------------------------------------------------------------------------
    def repair(self) -> int:
        """Re-derive every prompt summary and model prior from the outcome records; returns how many summaries were
        wrong. Run it while no other process writes (``scope repair``)."""
        fixed = self.rebuild_summaries()
        self.rebuild_priors()
        return fixed

    def rebuild_priors(self) -> dict[str, sm.Summary]:
        """Recompute every model's prior from the outcome records; the per-writer deltas are folded in.

        Run it while no other process writes (``scope repair``): a writer's delta record made
        during the rebuild could count twice.
        """
        priors: dict[str, sm.Summary] = {}
        for per_model in sm.fold(self.all_outcomes()).values():
            sm.merge(priors, per_model)
        names = list(self.models())
        with self.writer_priors.lock:
            for batch in batches(names):
                self._models.update(
                    ids=list(batch), metadatas=[{"prior": json.dumps(priors.get(m, sm.empty()))} for m in batch]
                )
            deltas = [i for i in self._models.get(include=[])["ids"] if i.startswith(DELTA_PREFIX)]
            if deltas:
                self._models.delete(ids=deltas)
            self.writer_priors.reset()
        return {m: priors.get(m, sm.empty()) for m in names}

    def rebuild_summaries(self, batch: int = 512) -> int:
        """Re-derive every stored prompt's summary from its outcome records; returns prompts rewritten."""
        ids = sorted(self._prompts.get(include=[])["ids"])
        fixed = 0
        for chunk in batches(ids, batch):
            fixed += self._repair_summaries(list(chunk))
        return fixed

    def _repair_summaries(self, prompt_hashes: Sequence[str]) -> int:
        """Rewrite the summaries of these prompts that differ from their outcome records; returns how many."""
        folded = sm.fold(self.outcomes_for(prompt_hashes))
        wrong = []
        for batch in batches(list(prompt_hashes)):
            got = self._prompts.get(ids=list(batch), include=["metadatas"])
            for h, meta in zip(got["ids"], got["metadatas"], strict=True):
                if not same_stats(sm.loads((meta or {}).get("stats")), folded.get(h, {})):
                    wrong.append(h)
        for batch in batches(wrong):
            self._prompts.update(ids=list(batch), metadatas=[{"stats": sm.dumps(folded.get(h, {}))} for h in batch])
        self._summaries.discard(wrong)
        return len(wrong)
