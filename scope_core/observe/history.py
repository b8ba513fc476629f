"""The decision log read back: the routed calls of a window, filtered by tag, model or session."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scope_core.observe.record import LoggedDecision
from scope_core.observe.report import Report, report_of
from scope_core.observe.window import When, moment
from scope_core.store.decisions import fold

if TYPE_CHECKING:
    from scope_core.store.behaviour import BehaviourStore


def decision_dicts(
    store: BehaviourStore,
    since: When = None,
    until: When = None,
    tags: Sequence[str] = (),
    model: str | None = None,
    session_id: str | None = None,
) -> list[dict[str, Any]]:
    """The logged decisions of the window as JSON dicts (the fast path of reports), oldest first."""
    start, end = moment(since), moment(until)
    records = fold(store.decisions.pages(since=start).values()).values()
    return sorted(select(records, start, end, tags, model, session_id), key=lambda r: r["ts"])


def select(
    records: Iterable[Mapping[str, Any]],
    start: float | None,
    end: float | None,
    tags: Sequence[str] = (),
    model: str | None = None,
    session_id: str | None = None,
) -> Iterable[Mapping[str, Any]]:
    """The records routed in [start, end] carrying every tag, answered by (or chosen as) ``model``, of the session."""
    wanted = set(tags)
    for r in records:
        if (start is not None and r["ts"] < start) or (end is not None and r["ts"] > end):
            continue
        if wanted and not wanted <= set(r.get("tags") or ()):
            continue
        if model is not None and model not in (r.get("model"), r.get("chosen")):
            continue
        if session_id is not None and r.get("session_id") != session_id:
            continue
        yield r


def history(store: BehaviourStore, **window: Any) -> list[LoggedDecision]:
    """``decision_dicts`` as typed records."""
    return [LoggedDecision.model_validate(r) for r in decision_dicts(store, **window)]


def window_report(store: BehaviourStore, **window: Any) -> Report:
    """The report of a window of the store's decision log."""
    return report_of(decision_dicts(store, **window), moment(window.get("since")), moment(window.get("until")))
