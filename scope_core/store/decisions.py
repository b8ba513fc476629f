"""DecisionLog: the store's log of routed calls, in its own collection, apart from outcomes and data sets.

Each decision record is kept whole under ``r/<run id>`` (written once: what ``history`` reads). Reports read
compact events instead: each writer (process) appends them to pages of its own, ``p/<writer>/<n>`` with up to
``PAGE`` events (each decision's summary, each score for a run id), a tenth of the bytes. No writer ever touches
another's page, so processes sharing a server never lose each other's events; reading folds the events of every
page, the last of a run id winning (a journal entry replayed after a crash writes the same record and event
again: it counts once). Pages carry their time span, so a window reads only the pages that reach it; retention
drops whole pages and the records of their decisions.
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
Event = dict[str, Any]


@dataclass(frozen=True)
class Retention:
    """How much of the decision log to keep: decisions routed within ``max_age_s``, at most ``max_rows``."""

    max_age_s: float | None = None
    max_rows: int | None = None


_RECORD, _PAGE = "r/", "p/"


class DecisionLog:
    """Per-writer pages of decision and score events in one Chroma collection (thread-safe)."""

    def __init__(self, collection: Any, retention: Retention | None = None) -> None:
        self.collection, self.retention = collection, retention
        self._writer = uuid.uuid4().hex
        self._number, self._events = 0, []
        self._lock = threading.Lock()

    def append(
        self, decisions: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]] = (), scores: Iterable[Event] = ()
    ) -> None:
        """Add decisions (each its record and its summary, which carries ``id`` and ``t``) and score events
        (``score_event``); stored when this returns."""
        decisions = list(decisions)
        if decisions:
            self.collection.upsert(
                ids=[_RECORD + summary["id"] for _, summary in decisions],
                embeddings=[TABLE_VECTOR] * len(decisions),
                documents=[orjson.dumps(record).decode() for record, _ in decisions],
                metadatas=[{"t": summary["t"]} for _, summary in decisions],
            )
        events = [{"k": "d", **summary} for _, summary in decisions] + [dict(e) for e in scores]
        with self._lock:
            started, touched = self._number, {}
            for event in events:
                if len(self._events) >= PAGE:
                    self._number, self._events = self._number + 1, []
                self._events.append(event)
                touched[self._number] = self._events
            if not touched:
                return
            numbers = sorted(touched)
            self.collection.upsert(
                ids=[f"{_PAGE}{self._writer}/{n}" for n in numbers],
                embeddings=[TABLE_VECTOR] * len(numbers),
                documents=[orjson.dumps(touched[n]).decode() for n in numbers],
                metadatas=[_page_meta(self._writer, touched[n]) for n in numbers],
            )
            turned = self._number > started
        if turned and self.retention is not None:
            self.prune()  # a page filled up: time to drop what retention no longer keeps

    def pages(self, since: float | None = None, changed_after: float | None = None) -> dict[str, list[Event]]:
        """By page id, the events of every page reaching back to ``since`` (all: None), changed after
        ``changed_after``."""
        clauses: list[dict[str, Any]] = [{"kind": "page"}]
        clauses += [{"t1": {"$gte": since}}] if since is not None else []
        clauses += [{"u": {"$gt": changed_after}}] if changed_after is not None else []
        where = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        out: dict[str, list[Event]] = {}
        offset = 0
        while True:
            got = self.collection.get(where=where, include=["documents"], limit=BATCH * 4, offset=offset)
            out.update((i, orjson.loads(d)) for i, d in zip(got["ids"], got["documents"], strict=True) if d)
            if len(got["ids"]) < BATCH * 4:
                return out
            offset += BATCH * 4

    def records(self, run_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The decision records of these run ids (those the log still holds)."""
        out: dict[str, dict[str, Any]] = {}
        ids = [_RECORD + i for i in run_ids]
        for start in range(0, len(ids), BATCH):
            got = self.collection.get(ids=ids[start : start + BATCH], include=["documents"])
            out.update(
                (i.removeprefix(_RECORD), orjson.loads(d)) for i, d in zip(got["ids"], got["documents"], strict=True)
            )
        return out

    def prune(self) -> int:
        """Drop the pages retention no longer keeps (whole pages: a page goes once its newest event is too old, or
        once newer pages hold ``max_rows`` decisions); returns how many pages went."""
        if self.retention is None:
            return 0
        got = self.collection.get(where={"kind": "page"}, include=["metadatas"])
        spans = sorted(((m["t1"], m["nd"], i) for i, m in zip(got["ids"], got["metadatas"], strict=True)), reverse=True)
        current = f"{_PAGE}{self._writer}/{self._number}"
        cutoff = time.time() - self.retention.max_age_s if self.retention.max_age_s is not None else None
        drop, kept = [], 0
        for newest, decisions, page in spans:
            too_old = cutoff is not None and newest < cutoff
            too_many = self.retention.max_rows is not None and kept >= self.retention.max_rows
            if page != current and (too_old or too_many):
                drop.append(page)
            else:
                kept += decisions
        dropped = [e["id"] for events in self.pages_by_id(drop).values() for e in events if e["k"] == "d"]
        for ids in (drop, [_RECORD + i for i in dropped]):
            for start in range(0, len(ids), BATCH):
                self.collection.delete(ids=ids[start : start + BATCH])
        return len(drop)

    def pages_by_id(self, page_ids: list[str]) -> dict[str, list[Event]]:
        out: dict[str, list[Event]] = {}
        for start in range(0, len(page_ids), BATCH):
            got = self.collection.get(ids=page_ids[start : start + BATCH], include=["documents"])
            out.update((i, orjson.loads(d)) for i, d in zip(got["ids"], got["documents"], strict=True))
        return out


def score_event(run_id: str, score: float) -> Event:
    return {"k": "s", "t": time.time(), "id": run_id, "s": score}


def _page_meta(writer: str, events: list[Event]) -> dict[str, Any]:
    times = [e["t"] for e in events]
    return {"kind": "page", "w": writer, "t0": min(times), "t1": max(times), "u": time.time(),
            "nd": sum(e["k"] == "d" for e in events)}  # fmt: skip


def fold(
    events: Iterable[Iterable[Event]], decisions: dict[str, Event], scores: dict[str, tuple[float, float]]
) -> None:
    """Fold pages' events into ``decisions`` (summaries by run id, the last wins) and ``scores`` (run id ->
    (time, score), the latest wins), in place."""
    for page in events:
        for e in page:
            if e["k"] == "d":
                decisions[e["id"]] = e
            elif e["t"] >= scores.get(e["id"], (-1.0, 0.0))[0]:
                scores[e["id"]] = (e["t"], e["s"])
