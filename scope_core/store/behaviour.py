"""BehaviourStore: past outcomes of every model, on Chroma, searchable by prompt similarity.

Three collections share a name prefix:
- ``<name>-prompts``: one record per distinct prompt (id = text hash, our embedding, optional text),
  metadata ``stats`` packs every model's summary so ONE unfiltered k-NN query serves all candidates;
- ``<name>-outcomes``: the authoritative, append-only outcome records (deterministic ids, so
  re-ingesting changes nothing and concurrent writers never erase each other's records);
- ``<name>-models``: the model registry (spec and global prior per model), shared by every process.
Prompt summaries are derived from the outcome records and re-derived after each write, then
checked against the record count and rebuilt if another writer raced in between; a write that
finds a prompt's summary out of line with its records (a writer killed midway) re-derives it.

Model priors (each model's summary over all its outcomes) are a base per model plus one delta record
per writer (``__priors__/<writer id>``), which only that writer ever writes: concurrent processes
never read-modify-write the same record, so none can lose another's update. ``rebuild_priors``
recomputes the base from the outcome records and folds the deltas in (``scope repair``).

A write with an ``attempt`` id (a journal entry, ``scope_core.journal``) counts its priors exactly
once, even when it fails halfway and is retried: its delta is written first, together with the
attempt id in the writer's record (``done``), and only then its outcome records. A retry that
finds the id in a delta record writes the outcomes without counting them again; one that does not
find it counts them against what the store holds then (a write that never happened).
"""

from __future__ import annotations

import json
import math
import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import chromadb
import httpx
import numpy as np

from scope_core.errors import ScopeError, StoreUnavailableError, UnknownModelError
from scope_core.outcome import Outcome
from scope_core.scrub import scrub
from scope_core.specs import ModelSpec
from scope_core.store import summary as sm
from scope_core.store.guard import GuardedCollection, StoreGuard
from scope_core.store.lock import lock_store_folder
from scope_core.store.records import Neighbourhood, PromptInfo, Registry
from scope_core.store.summary_cache import SummaryCache

DEFAULT_PATH = Path(os.environ.get("SCOPE_STORE", Path.home() / ".scope" / "store"))
_BATCH = 256  # ids per Chroma call: keeps SQL variable counts low
_TABLE_VECTOR = [0.0]  # outcomes and models collections are tables: one constant 1-d vector
_LEGACY_FIT = "__fit__"  # the fit record of stores written before estimators owned their fits: ignored
_FIT_PREFIX = "__fit__/"  # registry records holding each estimator's fit (by its fit_name), never a model name
_DELTA_PREFIX = "__priors__/"  # per-writer prior deltas, never a model name
_DELTA_KIND = {"kind": "delta"}  # marks delta records, so they are read without the rest of the registry
DEFAULT_TIMEOUT_S = 5.0  # per HTTP call to a Chroma server


def _client_for(location: str | Path | None, timeout_s: float = DEFAULT_TIMEOUT_S):
    """A Chroma client: embedded (folder, locked to this process), in memory, or HTTP with a timeout on every call."""
    if location is None:
        location = DEFAULT_PATH
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


def _meta_of(outcome: Outcome) -> dict[str, object]:
    fields = {
        "p": outcome.prompt_hash,
        "m": outcome.model,
        "s": outcome.score,
        "it": outcome.input_tokens,
        "ot": outcome.output_tokens,
        "c": outcome.cost_usd,
        "lat": outcome.latency_s,
        "err": outcome.error,
        "task": outcome.task,
        "src": outcome.source,
        "ts": outcome.timestamp,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _same(a: Mapping[str, object] | None, b: Mapping[str, object]) -> bool:
    """Equal outcome metadata, floats compared as Chroma returns them (reduced precision)."""
    if a is None or a.keys() != b.keys():
        return False
    return all(
        math.isclose(a[k], b[k], rel_tol=1e-6, abs_tol=1e-12) if isinstance(b[k], float) else a[k] == b[k] for k in b
    )


def _same_stats(a: Mapping[str, Sequence[float]], b: Mapping[str, Sequence[float]]) -> bool:
    """Equal packed summaries, up to the rounding of ``summary.dumps``."""
    if a.keys() != b.keys():
        return False
    return all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6) for m in b for x, y in zip(a[m], b[m], strict=True))


def _delta(new: Mapping[str, Mapping[str, sm.Summary]], old: Mapping) -> dict[str, sm.Summary]:
    """Per model: the summaries of the new records minus those of the records they replace."""
    delta: dict[str, sm.Summary] = {}
    for per_model in new.values():
        sm.merge(delta, per_model)
    for per_model in old.values():
        sm.merge(delta, per_model, sign=-1.0)
    return delta


def _reserved(record_id: str) -> bool:
    """Whether a registry record id is the store's own (a fit or a priors delta), never a model."""
    return record_id == _LEGACY_FIT or record_id.startswith((_FIT_PREFIX, _DELTA_PREFIX))


def _batches(items: Sequence, size: int = _BATCH) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class BehaviourStore:
    """Chroma-backed store of prompts, outcomes and the model registry."""

    def __init__(
        self,
        client=None,
        name: str = "scope",
        *,
        store_prompts: bool = True,
        ef_search: int = 128,
        location: str | None = None,
        cache_ttl_s: float = 5.0,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry_s: float = 2.0,
        guard: StoreGuard | None = None,
    ) -> None:
        self.name, self.store_prompts, self.location = name, store_prompts, location
        self.guard = guard or StoreGuard(str(location or DEFAULT_PATH), retry_s=retry_s)
        self.client = client if client is not None else self.guard.call(_client_for, location, timeout_s)
        self._priors_lock = threading.Lock()
        self._writer_id = uuid.uuid4().hex
        self._own_delta: dict[str, sm.Summary] = {}  # this writer's prior delta since its record was made
        self._open_attempts: set[str] = set()  # counted in the delta record, outcome records not yet written
        self._delta_unsure = False  # a delta write failed: the record may or may not hold it
        self.inconsistent_found = 0  # prompts whose summary a write found out of line with their records
        self._summaries = SummaryCache(ttl_s=cache_ttl_s)
        hnsw = {"space": "cosine", "ef_search": ef_search, "ef_construction": 128, "max_neighbors": 32}
        table = {"hnsw": {"space": "l2"}}
        self._prompts, self._outcomes, self._models = (
            GuardedCollection(
                self.guard.call(
                    self.client.get_or_create_collection, f"{name}-{kind}", embedding_function=None, configuration=conf
                ),
                self.guard,
            )
            for kind, conf in (("prompts", {"hnsw": hnsw}), ("outcomes", table), ("models", table))
        )

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        location: str | Path | None = None,
        name: str = "scope",
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry_s: float = 2.0,
        **kwargs,
    ) -> BehaviourStore:
        """Open a store: a folder path (embedded, default ``~/.scope/store`` or $SCOPE_STORE; one process
        only), ``http://host:port`` (a Chroma server, shared by processes) or ``:memory:``.

        ``timeout_s`` bounds every HTTP call; a store that cannot be reached raises StoreUnavailableError.
        """
        where = str(location or DEFAULT_PATH)
        guard = StoreGuard(where, retry_s=retry_s)
        client = guard.call(_client_for, location, timeout_s)
        return cls(client, name, location=where, guard=guard, **kwargs)

    @classmethod
    def ephemeral(cls, name: str | None = None, **kwargs) -> BehaviourStore:
        """An in-memory store with a unique name (tests, evaluation)."""
        return cls(chromadb.EphemeralClient(), name or f"scope-{uuid.uuid4().hex[:12]}", location=":memory:", **kwargs)

    # -- model registry -----------------------------------------------------------------------
    def put_model(self, spec: ModelSpec) -> None:
        """Register or update a model's spec (its prior is kept)."""
        if _reserved(spec.name):
            raise ValueError(f"'{spec.name}' is reserved by the store; choose another model name")
        self._models.upsert(ids=[spec.name], embeddings=[_TABLE_VECTOR], metadatas=[{"spec": spec.model_dump_json()}])

    def registry(self) -> Registry:
        """Every model's spec and global prior, and each estimator's fit, in one read."""
        got = self._models.get(include=["metadatas"])
        records = list(zip(got["ids"], got["metadatas"], strict=True))
        rows = [(i, m) for i, m in records if not _reserved(i)]
        priors = {i: sm.loads(m.get("prior")) or sm.empty() for i, m in rows}
        for i, m in records:
            if i.startswith(_DELTA_PREFIX):
                sm.merge(priors, {k: v for k, v in sm.loads(m.get("priors")).items() if k in priors})
        return Registry(
            specs={i: ModelSpec.model_validate_json(m["spec"]) for i, m in rows},
            priors=priors,
            fits={i.removeprefix(_FIT_PREFIX): str(m["fit"]) for i, m in records if i.startswith(_FIT_PREFIX)},
        )

    def models(self) -> dict[str, ModelSpec]:
        return self.registry().specs

    def priors(self) -> dict[str, sm.Summary]:
        """Each model's summary over all its stored outcomes (its global behaviour)."""
        return self.registry().priors

    def remove_models(self, names: Sequence[str]) -> None:
        """Unregister models (their outcome records stay)."""
        if names:
            self._models.delete(ids=list(names))

    def put_fit(self, name: str, fit: str) -> None:
        """Save an estimator's fit (JSON) under its ``fit_name``, for every process (one record, replaced by each fit)."""
        self._models.upsert(ids=[_FIT_PREFIX + name], embeddings=[_TABLE_VECTOR], metadatas=[{"fit": fit}])

    def sample_prompts(self, n: int, seed: int = 0) -> tuple[list[str], np.ndarray, list[dict[str, object]]]:
        """Ids, embeddings and metadata (``task``, ``tok``, packed ``stats``) of up to ``n`` stored
        prompts drawn at random (deterministic per seed)."""
        ids = sorted(self._prompts.get(include=[])["ids"])
        rng = np.random.default_rng(seed)
        chosen = sorted(rng.choice(len(ids), size=min(n, len(ids)), replace=False).tolist()) if ids else []
        out_ids, vectors, metas = [], [], []
        for batch in _batches([ids[i] for i in chosen]):
            got = self._prompts.get(ids=list(batch), include=["embeddings", "metadatas"])
            out_ids += got["ids"]
            vectors += list(got["embeddings"])
            metas += [dict(m or {}) for m in got["metadatas"]]
        return out_ids, np.asarray(vectors, dtype=np.float32).reshape(len(out_ids), -1), metas

    # -- reads --------------------------------------------------------------------------------
    def count_prompts(self) -> int:
        return self._prompts.count()

    def count_outcomes(self) -> int:
        return self._outcomes.count()

    def prompt_texts(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """{prompt hash: text} of the stored prompts (all, or those of ``ids``) whose text was kept."""
        got: dict[str, list] = {"ids": [], "documents": []}
        for batch in [None] if ids is None else _batches(list(dict.fromkeys(ids))):
            part = self._prompts.get(ids=None if batch is None else list(batch), include=["documents"])
            got["ids"] += part["ids"]
            got["documents"] += part["documents"]
        return {i: d for i, d in zip(got["ids"], got["documents"], strict=True) if d}

    def known_prompts(self, hashes: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for batch in _batches(list(dict.fromkeys(hashes))):
            found.update(self._prompts.get(ids=list(batch), include=[])["ids"])
        return found

    def nearest(self, embedding: np.ndarray, k: int) -> Neighbourhood:
        """The k most similar stored prompts: one unfiltered query for all models.

        While recent neighbours were mostly cached, the query asks Chroma for ids only and reads
        just the uncached records; otherwise it fetches every neighbour's record with the search.
        """
        vector = [np.asarray(embedding, dtype=np.float32)]
        if self._summaries.warm:
            res = self._prompts.query(query_embeddings=vector, n_results=k, include=["distances"])
            found = self._summaries.lookup(res["ids"][0])
            missing = [i for i in res["ids"][0] if i not in found]
            if missing:
                got = self._prompts.get(ids=missing, include=["metadatas"])
                found.update(self._summaries.put(got["ids"], got["metadatas"]))
        else:
            res = self._prompts.query(query_embeddings=vector, n_results=k, include=["metadatas", "distances"])
            self._summaries.lookup(res["ids"][0])  # only to keep the hit rate current
            found = self._summaries.put(res["ids"][0], res["metadatas"][0])
        # fewer than k when the store is small; a prompt deleted since the search is skipped
        kept = [(i, d) for i, d in zip(res["ids"][0], res["distances"][0], strict=True) if i in found]
        return Neighbourhood(
            ids=[i for i, _ in kept],
            similarities=1.0 - np.asarray([d for _, d in kept], dtype=np.float64),
            tokens=np.asarray([found[i].tokens for i, _ in kept], dtype=np.float64),
            stats=[found[i].stats for i, _ in kept],
        )

    def scored_prompts(self, model: str, limit: int = 10_000) -> tuple[np.ndarray, list[dict[str, sm.Summary]]]:
        """Embeddings and every model's summaries of (up to ``limit`` of) the prompts where ``model`` has
        a scored outcome."""
        records = self._outcomes.get(where={"m": model}, limit=limit, include=["metadatas"])["metadatas"]
        hashes = {str(r["p"]) for r in records}
        vectors, stats = [], []
        for batch in _batches(sorted(hashes)):
            got = self._prompts.get(ids=list(batch), include=["embeddings", "metadatas"])
            for vector, meta in zip(got["embeddings"], got["metadatas"], strict=True):
                per_model = sm.loads(meta.get("stats"))
                if per_model.get(model, sm.empty())[sm.N_SCORED] > 0:
                    vectors.append(vector)
                    stats.append(per_model)
        return np.asarray(vectors, dtype=np.float64).reshape(len(stats), -1), stats

    def outcome(self, outcome_id: str) -> dict[str, object] | None:
        got = self._outcomes.get(ids=[outcome_id], include=["metadatas"])
        return got["metadatas"][0] if got["ids"] else None

    def outcomes_for(self, prompt_hashes: Sequence[str]) -> list[dict[str, object]]:
        records: list[dict[str, object]] = []
        for batch in _batches(list(dict.fromkeys(prompt_hashes))):
            records += self._outcomes.get(where={"p": {"$in": list(batch)}}, include=["metadatas"])["metadatas"]
        return records

    # -- writes -------------------------------------------------------------------------------
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
        known_models = {i for i in named if not _reserved(i)}
        for outcome in outcomes:
            if outcome.model not in known_models:
                raise UnknownModelError(f"model '{outcome.model}' is not registered; call register_model first")
        unique = {o.id: o for o in outcomes}
        metas = {oid: _meta_of(o) for oid, o in unique.items()}
        existing: dict[str, dict] = {}
        for batch in _batches(list(unique)):
            got = self._outcomes.get(ids=list(batch), include=["metadatas"])
            existing.update(zip(got["ids"], got["metadatas"], strict=True))
        changed = [oid for oid, meta in metas.items() if not _same(existing.get(oid), meta)]
        moved_from = [str(existing[oid]["p"]) for oid in changed if oid in existing]  # an edited prompt text
        hashes = list(dict.fromkeys(str(metas[oid]["p"]) for oid in changed))
        refreshed = set(hashes)
        suspect = [h for h in dict.fromkeys(str(metas[o]["p"]) for o in unique if o in existing) if h not in refreshed]
        if suspect:  # records already stored: is their summary in line (was an earlier writer killed)?
            found = self._repair_summaries(suspect)
            self.inconsistent_found += found
        if not changed:
            self._open_attempts.difference_update(attempts)
            return []
        known = self.known_prompts(hashes)
        missing = [h for h in hashes if h not in known]
        absent = [h for h in missing if h not in prompts]
        if absent:
            raise ScopeError(f"{len(absent)} outcome(s) refer to prompts the store does not hold (e.g. {absent[0]})")
        folded = sm.fold(metas[i] for i in changed)
        delta = _delta(new=folded, old=sm.fold(existing[i] for i in changed if i in existing))
        if attempts:  # the delta first, marked with the attempts: a retry can tell it was counted
            self._count_once(attempts, delta, retried)
        # a journaled write's new prompts get their summary at once (this batch's records): a retry re-derives
        # it; a bare write's (an ingest) only after its outcomes and delta, so a kill leaves it out of line
        self._add_prompts([prompts[h] for h in missing], folded if attempts else None)
        for batch in _batches([i for i in changed if i not in existing], 2048):
            self._outcomes.add(
                ids=list(batch), embeddings=[_TABLE_VECTOR] * len(batch), metadatas=[metas[i] for i in batch]
            )
        for batch in _batches([i for i in changed if i in existing]):
            self._outcomes.update(ids=list(batch), metadatas=[metas[i] for i in batch])
        if not attempts:
            self._add_delta(delta)
        self._open_attempts.difference_update(attempts)
        settled = self._only_these(missing, Counter(str(metas[i]["p"]) for i in changed)) if attempts else set()
        self.refresh_summaries([h for h in dict.fromkeys(hashes + moved_from) if h not in settled])
        return changed

    def set_score(self, outcome_id: str, score: float, *, attempts: Sequence[str] = (), retried: bool = False) -> None:
        """Attach a quality score to a stored outcome (feedback that arrives after the call); ``attempts``
        and ``retried`` as for ``add``."""
        meta = self.outcome(outcome_id)
        if meta is None:
            raise KeyError(f"no stored outcome with id '{outcome_id}'")
        updated = {**meta, "s": float(score)}
        if _same(meta, updated):
            self._open_attempts.difference_update(attempts)
            return
        delta = _delta(new=sm.fold([updated]), old=sm.fold([meta]))
        if attempts:
            self._count_once(attempts, delta, retried)
        self._outcomes.update(ids=[outcome_id], metadatas=[updated])
        if not attempts:
            self._add_delta(delta)
        self._open_attempts.difference_update(attempts)
        self.refresh_summaries([str(meta["p"])])

    def counted_attempts(self) -> set[str]:
        """The attempt ids some writer's delta record holds as counted (outcomes maybe not yet written)."""
        got = self._models.get(where=_DELTA_KIND, include=["metadatas"])
        return {a for meta in got["metadatas"] for a in json.loads(str((meta or {}).get("done") or "[]"))}

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
            for batch in _batches(pending):
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
        for batch in _batches(list(infos)):
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

    def _count_once(self, attempts: Sequence[str], delta: dict[str, sm.Summary], retried: bool) -> None:
        """Add ``delta`` to this writer's record with ``attempts`` marked done, unless a retry finds them done."""
        if retried:
            done = self.counted_attempts() & set(attempts)
            if done and done != set(attempts):
                raise ValueError("a retried batch mixes counted and uncounted attempts: retry them one by one")
            if done:
                return
        self._add_delta(delta, attempts)

    def _add_delta(self, delta: Mapping[str, sm.Summary], attempts: Sequence[str] = ()) -> None:
        """Add the change to this writer's own delta record (no other writer touches it)."""
        if not delta and not attempts:
            return
        with self._priors_lock:
            if self._delta_unsure:  # a failed write may have landed: the record is the truth, re-read it
                self._reload_own_delta()
            total = {m: list(v) for m, v in self._own_delta.items()}
            sm.merge(total, delta)
            done = self._open_attempts | set(attempts)
            self._delta_unsure = True
            self._models.upsert(
                ids=[_DELTA_PREFIX + self._writer_id],
                embeddings=[_TABLE_VECTOR],
                metadatas=[{"priors": sm.dumps(total), "done": json.dumps(sorted(done)), **_DELTA_KIND}],
            )
            self._delta_unsure = False
            self._own_delta, self._open_attempts = total, done

    def _reload_own_delta(self) -> None:
        got = self._models.get(ids=[_DELTA_PREFIX + self._writer_id], include=["metadatas"])
        meta = got["metadatas"][0] if got["ids"] else {}
        self._own_delta = sm.loads(meta.get("priors"))
        self._open_attempts = set(json.loads(str(meta.get("done") or "[]")))
        self._delta_unsure = False

    # -- repair -------------------------------------------------------------------------------
    def all_outcomes(self, page: int = 5000) -> Iterator[dict[str, object]]:
        """Every outcome record, page by page."""
        offset = 0
        while True:
            got = self._outcomes.get(include=["metadatas"], limit=page, offset=offset)["metadatas"]
            yield from got
            if len(got) < page:
                return
            offset += page

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
        with self._priors_lock:
            for batch in _batches(names):
                self._models.update(
                    ids=list(batch), metadatas=[{"prior": json.dumps(priors.get(m, sm.empty()))} for m in batch]
                )
            deltas = [i for i in self._models.get(include=[])["ids"] if i.startswith(_DELTA_PREFIX)]
            if deltas:
                self._models.delete(ids=deltas)
            self._own_delta, self._open_attempts, self._delta_unsure = {}, set(), False
        return {m: priors.get(m, sm.empty()) for m in names}

    def rebuild_summaries(self, batch: int = 512) -> int:
        """Re-derive every stored prompt's summary from its outcome records; returns prompts rewritten."""
        ids = sorted(self._prompts.get(include=[])["ids"])
        fixed = 0
        for chunk in _batches(ids, batch):
            fixed += self._repair_summaries(list(chunk))
        return fixed

    def _repair_summaries(self, prompt_hashes: Sequence[str]) -> int:
        """Rewrite the summaries of these prompts that differ from their outcome records; returns how many."""
        folded = sm.fold(self.outcomes_for(prompt_hashes))
        wrong = []
        for batch in _batches(list(prompt_hashes)):
            got = self._prompts.get(ids=list(batch), include=["metadatas"])
            for h, meta in zip(got["ids"], got["metadatas"], strict=True):
                if not _same_stats(sm.loads((meta or {}).get("stats")), folded.get(h, {})):
                    wrong.append(h)
        for batch in _batches(wrong):
            self._prompts.update(ids=list(batch), metadatas=[{"stats": sm.dumps(folded.get(h, {}))} for h in batch])
        self._summaries.discard(wrong)
        return len(wrong)

    def drop(self) -> None:
        """Delete this store's collections."""
        for col in (self._prompts, self._outcomes, self._models):
            self.guard.call(self.client.delete_collection, col.name)
