"""The learning curve of ``run_online`` (matplotlib): each variant's stream accuracy and cost per window of calls,
and its final store's AIQ."""

from __future__ import annotations

from pathlib import Path

from scope_core.evaluation.online import OnlineReport
from scope_core.evaluation.plot import save

STYLE = {
    "none": ("no learning", "0.5", ":"),
    "bandit": ("bandit feedback", "C0", "-"),
    "explore": ("bandit feedback, exploring", "C1", "-."),
    "full": ("full information", "C2", "--"),
}


def plot_online(report: OnlineReport, path: str | Path, dpi: int = 110) -> Path:
    """One row per alpha: stream accuracy, and USD per call, per window of calls; the legend gives final AIQs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alphas = sorted({r.alpha for r in report.runs})
    fig, axes = plt.subplots(len(alphas), 2, figsize=(10, 3.2 * len(alphas)), squeeze=False)
    for row, alpha in zip(axes, alphas, strict=True):
        for run in (r for r in report.runs if r.alpha == alpha):
            label, color, line = STYLE[run.variant]
            x = [w.start + w.calls for w in run.windows]
            row[0].plot(x, [w.accuracy for w in run.windows], line, color=color, label=f"{label} (AIQ {run.aiq:.4f})")
            row[1].plot(x, [w.cost for w in run.windows], line, color=color, label=label)
        row[0].set(title=f"{report.data}, seed {report.seed}, alpha {alpha:g}: stream accuracy", xlabel="calls")
        row[1].set(title="USD per call", xlabel="calls")
        row[0].legend(fontsize=8)
        for ax in row:
            ax.grid(alpha=0.3)
    fig.tight_layout()
    return save(fig, path, dpi)
