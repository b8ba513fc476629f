"""How a journal's entries are applied: in runs the store takes in one batch each, a failing run entry by entry, and
which failures keep an entry (held) rather than drop it (refused); see ``scope_core.store.journal``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scope_core.errors import ScopeError, StoreError, StoreUnavailableError


@dataclass(frozen=True)
class Entry:
    """One journal entry; ``retried``: it may have been handed to the store before."""

    seq: int
    kind: str
    payload: dict[str, Any]
    attempt: str
    retried: bool


Apply = Callable[[str, list[Entry]], Sequence[object]]  # (kind, a run of entries) -> one result per entry


def is_held(result: object) -> bool:
    """Whether an entry whose apply raised ``result`` is kept: anything but the store's refusal of it (a
    ``ScopeError`` that is not a store failure)."""
    return isinstance(result, Exception) and not (isinstance(result, ScopeError) and not isinstance(result, StoreError))


def runs_of(entries: list[Entry]) -> list[list[Entry]]:
    """The entries as runs the store takes in one batch each, all fresh or all maybe tried before: outcome entries
    together and score entries after them, as long as no outcome rewrites a record that a score before it set
    (order kept otherwise); any other entry (a model's registration) alone, in its place."""
    runs: list[list[Entry]] = []
    outcomes: list[Entry] = []
    scores: list[Entry] = []
    scored: set[str] = set()

    def close() -> None:
        runs.extend(run for run in (list(outcomes), list(scores)) if run)
        outcomes.clear(), scores.clear(), scored.clear()

    for entry in entries:
        if (outcomes or scores) and (outcomes or scores)[0].retried != entry.retried:
            close()
        if entry.kind == "score":
            scores.append(entry)
            scored.add(str(entry.payload.get("id")))
        elif entry.kind == "outcomes":
            if scored & {str(o.get("id")) for o in entry.payload.get("outcomes", ())}:
                close()
            outcomes.append(entry)
        else:
            close()
            runs.append([entry])
    close()
    return runs


def apply_run(apply: Apply, run: list[Entry]) -> dict[int, object]:
    """Apply a run at once; if it fails for another reason than the store, entry by entry (as retried: part
    of it may be stored), so one bad entry (its exception is its result) does not block the ones behind it."""
    try:
        return dict(zip((e.seq for e in run), apply(run[0].kind, run), strict=True))
    except StoreUnavailableError:
        raise
    except Exception as exc:
        if len(run) == 1:
            return {run[0].seq: exc}
    results: dict[int, object] = {}
    for entry in run:
        results.update(apply_run(apply, [Entry(entry.seq, entry.kind, entry.payload, entry.attempt, True)]))
    return results
