"""``scope eval --online`` (the learning curve from the router's own traffic) and ``scope eval --logged``
(off-policy estimates of other alphas on a store's decision log)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from scope_core.cli.app import console, fail
from scope_core.money import usd


def evaluate_online(
    data: Path, alphas: list[float], seed: int, estimator: str, settings: dict[str, Any], json_out, plot, progress
) -> None:
    from scope_core.evaluation.online import run_online

    def shown(run) -> None:
        console.print(f"{run.variant:6} alpha {run.alpha:g}: AIQ {run.aiq:.4f}, stream accuracy {run.accuracy:.4f}, "
                      f"{usd(run.cost)}/call [{run.seconds:.0f} s]")  # fmt: skip

    report = run_online(
        data, alphas=alphas, seed=seed, estimator=estimator, on_run=shown, progress=progress, **settings
    )
    windows = (f"window {w.start}" for w in report.runs[0].windows)
    table = Table("alpha", "variant", "AIQ", "vs none (95%)", "log loss", "stream acc.", "$/call", *windows)
    for run in report.runs:
        vs = "-" if run.vs_none is None else f"{run.vs_none[0]:+.4f} to {run.vs_none[1]:+.4f}"
        table.add_row(f"{run.alpha:g}", run.variant, f"{run.aiq:.4f}", vs, f"{run.log_loss:.4f}",
                      f"{run.accuracy:.4f}", usd(run.cost), *(f"{w.accuracy:.3f}" for w in run.windows))  # fmt: skip
    console.print(table)
    learners = [v for v in ("bandit", "explore") if any(r.variant == v for r in report.runs)]
    for a in alphas:
        for v in learners:
            closed = report.gap_closed(a, v)
            console.print(f"alpha {a:g}: {v} closes {'-' if closed is None else f'{closed:.0%}'} of the gap")
    if json_out is not None:
        json_out.write_text(report.model_dump_json(indent=1))
    if plot is not None:
        from scope_core.evaluation.plot_online import plot_online

        console.print(f"plot written to {plot_online(report, plot)}")


def evaluate_logged(location: str | None, alphas: list[float], since: str | None, json_out) -> None:
    from scope_core.evaluation.offpolicy import policy_value
    from scope_core.observe.history import history
    from scope_core.store.behaviour import BehaviourStore

    records = [r.model_dump() for r in history(BehaviourStore.open(location), since=since)]
    try:
        values = [policy_value(records, a) for a in alphas]
    except ValueError as exc:
        raise fail(str(exc)) from None
    table = Table("alpha", "calls", "agrees", "effective calls", "direct", "IPS", "doubly robust (95% CI)", "$/call")
    for v in values:
        table.add_row(f"{v.alpha:g}", str(v.calls), f"{v.agreement:.0%}", f"{v.effective_calls:.0f}", f"{v.direct:.3f}",
                      "-" if v.ips is None else f"{v.ips:.3f}", f"{v.doubly_robust:.3f} ({v.ci_low:.3f}-{v.ci_high:.3f})",
                      usd(v.cost))  # fmt: skip
    console.print(table)
    if json_out is not None:
        json_out.write_text("[" + ",".join(v.model_dump_json() for v in values) + "]")
