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
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scope_core.observe.history import history, scored, select
from scope_core.observe.report import report_of
from scope_core.observe.window import When, moment
from scope_core.store.decisions import fold

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from scope_core.store.behaviour import BehaviourStore

RECENT = 20  # calls in the page's table of recent calls
_SKEW_S = 5.0  # pages changed this long before the last read are read again: a write may commit late


class LiveLog:
    """A store's decision log, folded in memory, brought up to date by reading only the pages that changed."""

    def __init__(self, store: BehaviourStore, since: float | None = None) -> None:
        self.store, self.since = store, since
        self.decisions: dict[str, dict[str, Any]] = {}  # summaries by run id
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
            fold(changed.values(), self.decisions, self.scores)
            self._read_at = now
            return len(changed)

    def summaries(self, since: When = None, tags: Sequence[str] = ()) -> list[Mapping[str, Any]]:
        """The summaries of a window's calls, scores applied, oldest first."""
        with self._lock:
            return select(scored(self.decisions, self.scores), moment(since), None, tags)


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
        calls = live.summaries(since, tags)
        recent = [_recent(s) for s in calls[-RECENT:][::-1]]
        if show_texts:
            texts = {r.run_id: r.text for r in history(store, since=recent[-1]["ts"])} if recent else {}
            recent = [{**row, "text": texts.get(row["run_id"])} for row in recent]
        return {"report": report_of(calls, moment(since)).model_dump(mode="json"), "recent": recent}

    async def api_report(request):
        from starlette.concurrency import run_in_threadpool

        return JSONResponse(await run_in_threadpool(state), headers={"Cache-Control": "no-store"})

    routes = [Route("/", index), Route("/plotly.min.js", script), Route("/api/report", api_report)]
    return Starlette(routes=routes)


def _recent(s: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "run_id": s["id"],
        "ts": s["t"],
        "chosen": s["c"],
        "model": s["m"],
        "cost_usd": s["cost"],
        "score": s["s"],
        "session_id": s["se"],
        "fallbacks": len(s["f"]),
    }
