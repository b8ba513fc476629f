"""The decision log read back: the routed calls of a window, filtered by tag, model or session.

``history`` gives the whole records (``LoggedDecision``); reports read the summaries, which are a tenth the size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scope_core.observe.record import LoggedDecision
from scope_core.observe.report import Report, report_of
from scope_core.observe.window import When, moment
from scope_core.store.decisions import fold

if TYPE_CHECKING:
    from scope_core.store.behaviour import BehaviourStore


def select(
    summaries: Iterable[Mapping[str, Any]],
    start: float | None,
    end: float | None,
    tags: Sequence[str] = (),
    model: str | None = None,
    session_id: str | None = None,
) -> list[Mapping[str, Any]]:
    """The summaries of calls routed in [start, end], carrying every tag, answered by (or chosen as) ``model``, of the
    session; oldest first."""
    wanted = set(tags)
    return sorted(
        (
            s
            for s in summaries
            if (start is None or s["t"] >= start)
            and (end is None or s["t"] <= end)
            and (not wanted or wanted <= set(s["tg"]))
            and (model is None or model in (s["m"], s["c"]))
            and (session_id is None or s["se"] == session_id)
        ),
        key=lambda s: s["t"],
    )


def scored(summaries: dict[str, dict[str, Any]], scores: Mapping[str, tuple[float, float]]) -> Iterable[dict[str, Any]]:
    """Summaries with the latest score of each answered call."""
    for run_id, s in summaries.items():
        yield {**s, "s": scores[run_id][1]} if run_id in scores and s["m"] is not None else s


def summaries(store: BehaviourStore, since: When = None, until: When = None, **filters: Any) -> list[Mapping[str, Any]]:
    """The summaries of the window's calls, scores applied, oldest first."""
    start = moment(since)
    decisions: dict[str, dict[str, Any]] = {}
    scores: dict[str, tuple[float, float]] = {}
    fold(store.decisions.pages(since=start).values(), decisions, scores)
    return select(scored(decisions, scores), start, moment(until), **filters)


def history(store: BehaviourStore, since: When = None, until: When = None, **filters: Any) -> list[LoggedDecision]:
    """The window's logged decisions, whole, scores applied, oldest first."""
    chosen = summaries(store, since, until, **filters)
    records = store.decisions.records(s["id"] for s in chosen)
    return [LoggedDecision.model_validate({**records[s["id"]], "score": s["s"]}) for s in chosen if s["id"] in records]


def window_report(store: BehaviourStore, since: When = None, until: When = None, **filters: Any) -> Report:
    """The report of a window of the store's decision log."""
    return report_of(summaries(store, since, until, **filters), moment(since), moment(until))
