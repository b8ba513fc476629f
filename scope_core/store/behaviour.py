"""BehaviourStore: past outcomes of every model, on Chroma, searchable by prompt similarity.

Three collections share a name prefix:
- ``<name>-prompts``: one record per distinct prompt (id = text hash, our embedding, optional text),
  metadata ``stats`` packs every model's summary so ONE unfiltered k-NN query serves all candidates;
- ``<name>-outcomes``: the authoritative, append-only outcome records (deterministic ids, so
  re-ingesting changes nothing and concurrent writers never erase each other's records);
- ``<name>-models``: the model registry (spec and global prior per model, each estimator's fit), shared by
  every process; each writer's share of the priors is its own delta record (``scope_core.store.priors``);
- ``<name>-decisions``: the log of routed calls (``scope_core.store.decisions``).

Reads live here; writes, and the repair that re-derives summaries and priors from the outcome records, in
``scope_core.store.writes``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import chromadb
import numpy as np

from scope_core.errors import InvalidInputError
from scope_core.specs import ModelSpec
from scope_core.store import summary as sm
from scope_core.store.client import DEFAULT_TIMEOUT_S, chroma_client, default_location
from scope_core.store.decisions import DecisionLog, Retention
from scope_core.store.files import secure_tree
from scope_core.store.frozen import sample_positions
from scope_core.store.guard import GuardedCollection, StoreGuard
from scope_core.store.priors import DELTA_PREFIX, TABLE_VECTOR, WriterPriors
from scope_core.store.records import (
    FIT_PREFIX,
    Neighbourhood,
    Registry,
    batches,
    reserved,
)
from scope_core.store.summary_cache import SummaryCache
from scope_core.store.writes import StoreWrites

# candidates the prompt index keeps while searching: 4x the router's default k. Measured (mmlu-pro-29 prompts, 300
# queries, k = 128): recall 0.985 / 0.997 / 0.9998 at 128 / 256 / 512 with 11,000 stored prompts, 1.6 / 2.1 / 2.4 ms a
# query; at 128 the neighbours also changed from one build of the same store to the next.
DEFAULT_EF_SEARCH = 512


class BehaviourStore(StoreWrites):
    """Chroma-backed store of prompts, outcomes and the model registry."""

    def __init__(
        self,
        client=None,
        name: str = "scope",
        *,
        store_prompts: bool = True,
        ef_search: int = DEFAULT_EF_SEARCH,
        location: str | None = None,
        cache_ttl_s: float = 5.0,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry_s: float = 2.0,
        guard: StoreGuard | None = None,
        retention: Retention | None = None,
        connect: bool = True,
    ) -> None:
        self.name, self.store_prompts, self.location = name, store_prompts, location
        self.guard = guard or StoreGuard(str(location or default_location()), retry_s=retry_s)
        self._client, self._timeout_s = client, timeout_s
        self._client_lock = threading.Lock()
        self._secured = -1e18
        self.inconsistent_found = 0  # prompts whose summary a write found out of line with their records
        self._summaries = SummaryCache(ttl_s=cache_ttl_s)
        hnsw = {"space": "cosine", "ef_search": ef_search, "ef_construction": 128, "max_neighbors": 32}
        table = {"hnsw": {"space": "l2"}}
        self._prompts, self._outcomes, self._models, decisions = (
            GuardedCollection(self._collection(f"{name}-{kind}", conf), f"{name}-{kind}", self.guard)
            for kind, conf in (
                ("prompts", {"hnsw": hnsw}),
                ("outcomes", table),
                ("models", table),
                ("decisions", table),
            )
        )
        self.writer_priors = WriterPriors(self._models)
        self.decisions = DecisionLog(decisions, retention)
        if connect:
            self.connect()

    @property
    def client(self):
        """The Chroma client, made on first use (``BehaviourStore.open(..., connect=False)``)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = chroma_client(self.location, self._timeout_s)
        return self._client

    def _collection(self, full_name: str, configuration: dict):
        def make():
            collection = self.client.get_or_create_collection(
                full_name, embedding_function=None, configuration=configuration
            )
            wanted = configuration["hnsw"].get("ef_search")
            if wanted is not None and (collection.configuration_json.get("hnsw") or {}).get("ef_search") != wanted:
                # a collection made with another ef_search keeps it unless told (Chroma reads the configuration once)
                collection.modify(configuration={"hnsw": {"ef_search": wanted}})
            return collection

        return make

    def secure(self, every_s: float = 30.0) -> None:
        """Make an embedded store's folder and files owner-only again (Chroma makes index files as it writes)."""
        if self.location in (None, ":memory:") or self.location.startswith(("http://", "https://")):
            return
        if time.monotonic() - self._secured >= every_s:
            self._secured = time.monotonic()
            secure_tree(Path(self.location))

    def connect(self) -> None:
        """Reach the store and its collections now (StoreUnavailableError, or a kind of it, when it cannot)."""
        for collection in (self._prompts, self._outcomes, self._models, self.decisions.collection):
            collection.ready()

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        location: str | Path | None = None,
        name: str = "scope",
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry_s: float = 2.0,
        connect: bool = True,
        **kwargs,
    ) -> BehaviourStore:
        """Open a store: a folder path (embedded, default ``~/.scope/store`` or $SCOPE_STORE; one process
        only), ``http://host:port`` (a Chroma server, shared by processes) or ``:memory:``.

        ``timeout_s`` bounds every HTTP call; a store that cannot be reached raises StoreUnavailableError, unless
        ``connect=False``: then it is reached on first use (what a Router does: it starts during an outage).
        """
        where = str(location or default_location())
        return cls(None, name, location=where, timeout_s=timeout_s, guard=StoreGuard(where, retry_s=retry_s),
                   connect=connect, **kwargs)  # fmt: skip

    @classmethod
    def ephemeral(cls, name: str | None = None, **kwargs) -> BehaviourStore:
        """An in-memory store with a unique name (tests, evaluation)."""
        return cls(chromadb.EphemeralClient(), name or f"scope-{uuid.uuid4().hex[:12]}", location=":memory:", **kwargs)

    # -- model registry -----------------------------------------------------------------------
    def put_model(self, spec: ModelSpec) -> None:
        """Register or update a model's spec (its prior is kept)."""
        if reserved(spec.name):
            raise InvalidInputError(f"'{spec.name}' is reserved by the store; choose another model name")
        self._models.upsert(ids=[spec.name], embeddings=[TABLE_VECTOR], metadatas=[{"spec": spec.model_dump_json()}])

    def registry(self) -> Registry:
        """Every model's spec and global prior, and each estimator's fit, in one read."""
        got = self._models.get(include=["metadatas"])
        records = list(zip(got["ids"], got["metadatas"], strict=True))
        rows = [(i, m) for i, m in records if not reserved(i)]
        priors = {i: sm.loads(m.get("prior")) or sm.empty() for i, m in rows}
        for i, m in records:
            if i.startswith(DELTA_PREFIX):
                sm.merge(priors, {k: v for k, v in sm.loads(m.get("priors")).items() if k in priors})
        return Registry(
            specs={i: ModelSpec.model_validate_json(m["spec"]) for i, m in rows},
            priors=priors,
            fits={i.removeprefix(FIT_PREFIX): str(m["fit"]) for i, m in records if i.startswith(FIT_PREFIX)},
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
        self._models.upsert(ids=[FIT_PREFIX + name], embeddings=[TABLE_VECTOR], metadatas=[{"fit": fit}])

    def sample_prompts(self, n: int, seed: int = 0) -> tuple[list[str], np.ndarray, list[dict[str, object]]]:
        """Ids, embeddings and metadata (``task``, ``tok``, packed ``stats``) of up to ``n`` stored
        prompts drawn at random (deterministic per seed)."""
        ids = sorted(self._prompts.get(include=[])["ids"])
        chosen = sample_positions(len(ids), n, seed)
        out_ids, vectors, metas = [], [], []
        for batch in batches([ids[i] for i in chosen]):
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
        for batch in [None] if ids is None else batches(list(dict.fromkeys(ids))):
            part = self._prompts.get(ids=None if batch is None else list(batch), include=["documents"])
            got["ids"] += part["ids"]
            got["documents"] += part["documents"]
        return {i: d for i, d in zip(got["ids"], got["documents"], strict=True) if d}

    def known_prompts(self, hashes: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for batch in batches(list(dict.fromkeys(hashes))):
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
        for batch in batches(sorted(hashes)):
            got = self._prompts.get(ids=list(batch), include=["embeddings", "metadatas"])
            for vector, meta in zip(got["embeddings"], got["metadatas"], strict=True):
                per_model = sm.loads(meta.get("stats"))
                if per_model.get(model, sm.empty())[sm.N_SCORED] > 0:
                    vectors.append(vector)
                    stats.append(per_model)
        return np.asarray(vectors, dtype=np.float64).reshape(len(stats), -1), stats

    def timed_outcomes(self, model: str, limit: int = 256) -> list[dict[str, object]]:
        """Up to ``limit`` outcome records of ``model`` that carry a latency."""
        where = {"$and": [{"m": model}, {"lat": {"$gte": 0.0}}]}
        return self._outcomes.get(where=where, limit=limit, include=["metadatas"])["metadatas"]

    def outcome(self, outcome_id: str) -> dict[str, object] | None:
        got = self._outcomes.get(ids=[outcome_id], include=["metadatas"])
        return got["metadatas"][0] if got["ids"] else None

    def outcomes_for(self, prompt_hashes: Sequence[str]) -> list[dict[str, object]]:
        records: list[dict[str, object]] = []
        for batch in batches(list(dict.fromkeys(prompt_hashes))):
            records += self._outcomes.get(where={"p": {"$in": list(batch)}}, include=["metadatas"])["metadatas"]
        return records

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

    def drop(self) -> None:
        """Delete this store's collections."""
        for col in (self._prompts, self._outcomes, self._models, self.decisions.collection):
            col.ready()  # made on first use: it may not exist yet
            self.guard.call(self.client.delete_collection, col.name)
