"""``scope dashboard``: the report's views as charts over time, in a local web page that refreshes as traffic flows.

A Starlette app serves one page (``dashboard.html``), plotly.js from the installed ``plotly`` package (nothing is
fetched from the internet), and ``/api/report``: the same JSON as ``scope report --json`` for the same window.
``LiveLog`` keeps the decision log folded in memory and reads only the pages changed since its last read, so a
refresh costs the new events, not the whole log. No prompt text is served unless ``show_texts``.
"""

from __future__ import annotations

import importlib.resources
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scope_core.observe.history import select
from scope_core.observe.report import report_of
from scope_core.observe.window import When, moment
from scope_core.store.decisions import merge_events

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from scope_core.store.behaviour import BehaviourStore

RECENT = 20  # calls in the page's table of recent calls
_SKEW_S = 5.0  # pages changed this long before the last read are read again: a write may commit late


class LiveLog:
    """A store's decision log, folded in memory, brought up to date by reading only the pages that changed."""

    def __init__(self, store: BehaviourStore, since: float | None = None) -> None:
        self.store, self.since = store, since
        self.decisions: dict[str, dict[str, Any]] = {}
        self.scores: dict[str, tuple[float, float]] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()

    def refresh(self) -> int:
        """Read the pages changed since the last refresh; returns how many."""
        with self._lock:
            now = time.time()
            changed = self.store.decisions.pages(
                since=self.since, changed_after=self._read_at - _SKEW_S if self._read_at else None
            )
            merge_events(changed.values(), self.decisions, self.scores)
            self._read_at = now
            return len(changed)

    def records(self, since: When = None, until: When = None, tags: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The decisions of a window, scores applied, oldest first."""
        with self._lock:
            scored = (
                {**r, "score": self.scores[i][1]} if i in self.scores and r.get("model") is not None else r
                for i, r in self.decisions.items()
            )
            return sorted(select(scored, moment(since), moment(until), tags), key=lambda r: r["ts"])


def create_app(
    store: BehaviourStore, *, since: When = None, tags: Sequence[str] = (), show_texts: bool = False
) -> Starlette:
    """The dashboard's web app over ``store``'s decision log (window: ``since``, ``tags``)."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse
    from starlette.routing import Route

    live = LiveLog(store, moment(since))
    page = importlib.resources.files("scope_core.observe").joinpath("dashboard.html").read_text()
    plotly_js = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"

    async def index(request):
        return HTMLResponse(page)

    async def script(request):
        return FileResponse(str(plotly_js), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    def state() -> dict[str, Any]:
        live.refresh()
        records = live.records(since, None, tags)
        recent = [_recent(r, show_texts) for r in records[-RECENT:][::-1]]
        return {"report": report_of(records, moment(since)).model_dump(mode="json"), "recent": recent}

    async def api_report(request):
        from starlette.concurrency import run_in_threadpool

        return JSONResponse(await run_in_threadpool(state), headers={"Cache-Control": "no-store"})

    routes = [Route("/", index), Route("/plotly.min.js", script), Route("/api/report", api_report)]
    return Starlette(routes=routes)


def _recent(r: dict[str, Any], show_texts: bool) -> dict[str, Any]:
    row = {k: r.get(k) for k in ("run_id", "ts", "chosen", "model", "cost_usd", "score", "session_id")}
    row["fallbacks"] = sum(a.get("error") is not None for a in r.get("attempts") or ())
    if show_texts:
        row["text"] = r.get("text")
    return row
