"""Rich tables of an evaluation report."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from scope_core.evaluation.report import EvalReport


def _money(x: float | None) -> str:
    return "never" if x is None else f"${x:,.3f}"


def print_report(report: EvalReport, console: Console) -> None:
    """Summary per router and baseline, then the single models and the oracle."""
    title = f"{report.data}: {report.n_train} train / {report.n_test} test prompts, seed {report.seed}"
    if report.holdout_models:
        title += f"; held out {', '.join(report.holdout_models)} ({report.anchors} anchors)"
    table = Table(
        "router", "AIQ", "max accuracy", f"cost to reach {report.best_single_accuracy:.3f}", "ECE", title=title
    )
    for name, curve in report.curves().items():
        label = f"{name} ({report.estimator})" if name == "router" else name
        ece = "-" if curve.ece is None else f"{curve.ece:.3f}"
        table.add_row(label, f"{curve.aiq:.4f}", f"{curve.max_accuracy:.4f}", _money(curve.cost_to_best_single), ece)
    if report.task_oracle is not None:
        t = report.task_oracle
        table.add_row(
            "[dim]task oracle[/]", f"{t.aiq:.4f}", f"{t.max_accuracy:.4f}", _money(t.cost_to_best_single), "-"
        )
    console.print(table)
    singles = Table("model", "accuracy", "total cost", "n", title="single models and oracle")
    for s in sorted(report.singles, key=lambda s: s.cost):
        singles.add_row(s.name, f"{s.accuracy:.4f}", _money(s.cost), str(s.n))
    singles.add_row("[bold]oracle[/]", f"{report.oracle.accuracy:.4f}", _money(report.oracle.cost), str(report.n_test))
    console.print(singles)
    if report.estimator_tokens or report.estimator_cost_usd:
        fallbacks = ", ".join(f"{n} {reason}" for reason, n in report.estimator_fallbacks.items()) or "none"
        console.print(
            f"estimator {report.estimator}: {report.estimator_tokens:,} tokens, ${report.estimator_cost_usd:.6g} "
            f"of its own, included in the router's costs; knn fallbacks: {fallbacks}"
        )
    timings = ", ".join(f"{k} {v:.1f}" for k, v in report.timings_s.items())
    console.print(f"router p(correct) ECE {report.calibration.ece:.4f}; seconds: {timings}")
