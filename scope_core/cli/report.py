"""``scope report``: what the router decided and what it saved, over a window of its decision log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scope_core.cli.app import StoreOption, app, command, console, open_router
from scope_core.money import usd
from scope_core.observe.report import Report

SinceOption = Annotated[str | None, typer.Option(help="from when: '24h', '30m', '7d', an ISO date or Unix time")]
UntilOption = Annotated[str | None, typer.Option(help="until when (same forms; default now)")]
TagOption = Annotated[list[str] | None, typer.Option("--tag", help="only calls carrying this tag (repeatable)")]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _p(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def print_report(r: Report) -> None:
    """The report as a few tables that fit 80 columns."""
    s = r.savings
    console.print(
        f"calls {r.calls}, answered {r.answered}, spent {usd(r.spend_usd)}"
        + (f" of a {usd(r.budget_usd)} budget" if r.budget_usd else "")
        + f"; route p50 {r.route_ms_p50 or 0:.1f} ms, p99 {r.route_ms_p99 or 0:.1f} ms"
    )
    console.print(
        f"saved (estimate) {usd(s.saved_vs_dearest_usd)} vs always the dearest model, "
        f"{usd(s.saved_vs_most_accurate_usd)} vs always the model predicted most accurate "
        f"(predicted accuracy {_p(s.predicted_accuracy)} vs {_p(s.predicted_accuracy_most_accurate)})"
    )
    table = Table("model", "calls", "share", "spend", "fails", "scored", "pred. acc", "obs. acc", "cost err")
    for m in r.models:
        table.add_row(
            m.model, str(m.calls), _pct(m.share), usd(m.spend_usd), str(m.failures), str(m.scored),
            _p(m.predicted_accuracy), _p(m.observed_accuracy), _pct(m.cost_mdape),
        )  # fmt: skip
    console.print(table)
    if r.calibration:
        cal = Table("predicted", "observed", "calls", title=f"calibration (ECE {r.ece:.3f} on {r.scored} scored)")
        for b in r.calibration:
            cal.add_row(_p(b.mean_predicted), _p(b.mean_observed), str(b.count))
        console.print(cal)
    console.print(
        f"fallbacks {_pct(r.fallback_rate)} of answers, every candidate failed {_pct(r.failure_rate)} of calls, "
        f"failed attempts {_pct(r.attempt_failure_rate)}; cold start {_pct(r.cold_start_share)}, "
        f"degraded {_pct(r.degraded_share)}; cost error (median) {_pct(r.cost_mdape)}"
    )


@app.command()
@command
def report(
    store: StoreOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    tag: TagOption = None,
    model: Annotated[str | None, typer.Option(help="only calls this model answered (or was chosen for)")] = None,
    session: Annotated[str | None, typer.Option(help="only calls of this session")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the report as JSON here")] = None,
):
    """Traffic, spend, savings, predicted vs observed accuracy and cost, failures, over a window of routed calls."""
    router = open_router(store)
    result = router.report(since=since, until=until, tags=tag or (), model=model, session_id=session)
    print_report(result)
    if json_out is not None:
        json_out.write_text(result.model_dump_json(indent=1))
        console.print(f"report written to {json_out}")
