"""DecisionLog: the store's log of routed calls, in its own collection, apart from outcomes and data sets.

Each writer (process) appends events to pages of its own, ``<writer>/<n>`` with up to ``PAGE`` events: a
decision (a ``LoggedDecision`` as JSON) or a score for a run id. No writer ever touches another's page, so
processes sharing a server never lose each other's events; reading folds every page's events, the last of a
run id winning (a journal entry replayed after a crash appends the same event again: it counts once). Pages
carry their time span, so a window reads only the pages that reach it, and retention drops whole pages.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from scope_core.store.priors import TABLE_VECTOR
from scope_core.store.records import BATCH

PAGE = 64  # events per page: each append rewrites its page, each read parses pages whole


@dataclass(frozen=True)
class Retention:
    """How much of the decision log to keep: decisions routed within ``max_age_s``, at most ``max_rows``."""

    max_age_s: float | None = None
    max_rows: int | None = None


def decision_event(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"k": "d", "t": record["ts"], "r": record}


def score_event(run_id: str, score: float) -> dict[str, Any]:
    return {"k": "s", "t": time.time(), "id": run_id, "s": score}


class DecisionLog:
    """Per-writer pages of decision and score events in one Chroma collection (thread-safe)."""

    def __init__(self, collection: Any, retention: Retention | None = None) -> None:
        self.collection, self.retention = collection, retention
        self._writer = uuid.uuid4().hex
        self._page, self._events = 0, []  # this writer's current page and its events
        self._lock = threading.Lock()

    def append(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Add events to this writer's pages (stored when this returns)."""
        with self._lock:
            started = self._page
            touched: dict[int, list] = {}
            for event in events:
                if len(self._events) >= PAGE:
                    self._page, self._events = self._page + 1, []
                self._events.append(dict(event))
                touched[self._page] = self._events
            if not touched:
                return
            pages = sorted(touched)
            self.collection.upsert(
                ids=[f"{self._writer}/{n}" for n in pages],
                embeddings=[TABLE_VECTOR] * len(pages),
                documents=[orjson.dumps(touched[n]).decode() for n in pages],
                metadatas=[_page_meta(self._writer, touched[n]) for n in pages],
            )
            turned = self._page > started
        if turned and self.retention is not None:
            self.prune()  # a page filled up: time to drop what retention no longer keeps

    def pages(self, since: float | None = None, changed_after: float | None = None) -> dict[str, list[dict[str, Any]]]:
        """The events of every page reaching back to ``since`` (all pages: None) and changed after ``changed_after``,
        by page id."""
        where: dict[str, Any] | None = None
        if since is not None:
            where = {"t1": {"$gte": since}}
        if changed_after is not None:
            changed = {"u": {"$gt": changed_after}}
            where = changed if where is None else {"$and": [where, changed]}
        out: dict[str, list[dict[str, Any]]] = {}
        offset = 0
        while True:
            got = self.collection.get(where=where, include=["documents"], limit=BATCH * 4, offset=offset)
            out.update((i, orjson.loads(d)) for i, d in zip(got["ids"], got["documents"], strict=True) if d)
            if len(got["ids"]) < BATCH * 4:
                return out
            offset += BATCH * 4

    def prune(self) -> int:
        """Drop the pages retention no longer keeps (whole pages: a page goes once its newest event is too old, or
        once newer pages hold ``max_rows`` decisions); returns how many pages went."""
        if self.retention is None:
            return 0
        got = self.collection.get(include=["metadatas"])
        spans = sorted(
            ((m["t1"], m.get("nd", 0), i) for i, m in zip(got["ids"], got["metadatas"], strict=True)), reverse=True
        )
        current = f"{self._writer}/{self._page}"
        drop, kept = [], 0
        cutoff = time.time() - self.retention.max_age_s if self.retention.max_age_s is not None else None
        for newest, decisions, page in spans:
            too_old = cutoff is not None and newest < cutoff
            too_many = self.retention.max_rows is not None and kept >= self.retention.max_rows
            if page != current and (too_old or too_many):
                drop.append(page)
            else:
                kept += decisions
        for start in range(0, len(drop), BATCH):
            self.collection.delete(ids=drop[start : start + BATCH])
        return len(drop)


def _page_meta(writer: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    times = [e["t"] for e in events]
    return {"w": writer, "t0": min(times), "t1": max(times), "u": time.time(), "nd": sum(e["k"] == "d" for e in events)}


def merge_events(
    pages: Iterable[list[dict[str, Any]]], decisions: dict[str, dict[str, Any]], scores: dict[str, tuple[float, float]]
) -> None:
    """Fold pages of events into ``decisions`` (by run id, the last record wins) and ``scores`` (run id -> (time,
    score), the latest wins), in place."""
    for events in pages:
        for e in events:
            if e["k"] == "d":
                decisions[e["r"]["run_id"]] = e["r"]
            elif e["k"] == "s" and e["t"] >= scores.get(e["id"], (-1.0, 0.0))[0]:
                scores[e["id"]] = (e["t"], e["s"])


def fold(pages: Iterable[list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Decision records by run id, scores applied (to answered calls), from pages of events."""
    decisions: dict[str, dict[str, Any]] = {}
    scores: dict[str, tuple[float, float]] = {}
    merge_events(pages, decisions, scores)
    for run_id, (_, score) in scores.items():
        if run_id in decisions and decisions[run_id].get("model") is not None:
            decisions[run_id] = {**decisions[run_id], "score": score}
    return decisions
