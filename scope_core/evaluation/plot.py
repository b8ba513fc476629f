"""Cost-accuracy plot of an evaluation report (matplotlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scope_core.evaluation.metrics import envelope_at
from scope_core.evaluation.report import EvalReport


def plot_report(report: EvalReport, path: str | Path, dpi: int = 120) -> Path:
    """Curves for the router and baselines, the task oracle dotted, the zero router dashed, single models and
    the oracle as points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, ax = plt.subplots(figsize=(9, 6))
    for name, curve in [("router: " + report.estimator, report.router), *report.baselines.items()]:
        points = sorted(curve.points, key=lambda p: p.cost)
        ax.plot(
            [p.cost for p in points], [p.accuracy for p in points], marker=".", label=f"{name} (AIQ {curve.aiq:.3f})"
        )
    if report.task_oracle is not None:
        points = sorted(report.task_oracle.points, key=lambda p: p.cost)
        label = f"task oracle (AIQ {report.task_oracle.aiq:.3f})"
        ax.plot([p.cost for p in points], [p.accuracy for p in points], ":", color="grey", label=label)
    hull = [(p.cost, p.accuracy) for p in report.zero_router.points]
    grid = np.geomspace(report.c_min, report.c_max, 200) if report.c_min > 0 else np.linspace(0, report.c_max, 200)
    label = f"zero router (AIQ {report.zero_router.aiq:.3f})"
    ax.plot(grid, envelope_at(hull, grid), "k--", label=label)  # mixing is linear in cost: dense on a log axis
    ax.scatter([s.cost for s in report.singles], [s.accuracy for s in report.singles], color="grey", zorder=3)
    for s in report.singles:
        ax.annotate(s.name.split("/")[-1], (s.cost, s.accuracy), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.scatter(
        [report.oracle.cost], [report.oracle.accuracy], marker="*", s=150, color="gold", label="oracle", zorder=3
    )
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"${x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"total cost of {report.n_test} test prompts (USD, log scale)")
    ax.set_ylabel("accuracy")
    title = f"{report.data}: seed {report.seed}, train {report.train_frac:g}"
    if report.holdout_models:
        title += f", held out {len(report.holdout_models)} model(s) on {report.anchors} anchors"
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return save(fig, path, dpi)


def plot_reliability(reports: dict[str, EvalReport], path: str | Path, dpi: int = 100) -> Path:
    """Reliability diagram of the router's p_correct: mean observed score per bin of predicted p, per report."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    for label, report in reports.items():
        bins = report.calibration.bins
        total = sum(b.count for b in bins)
        ax.plot(
            [b.mean_predicted for b in bins],
            [b.mean_observed for b in bins],
            marker="o",
            label=f"{label} (ECE {report.calibration.ece:.3f})",
        )
        ax.scatter(
            [b.mean_predicted for b in bins],
            [b.mean_observed for b in bins],
            s=[400 * b.count / total for b in bins],
            alpha=0.3,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted p_correct (bin mean)")
    ax.set_ylabel("observed accuracy")
    ax.set_title("router calibration (marker area: share of pairs)")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return save(fig, path, dpi)


def save(fig, path: str | Path, dpi: int) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
