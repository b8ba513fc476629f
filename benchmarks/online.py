"""The learning curve on both dev sets: a router fed its own traffic (bandit feedback) against no learning and full
information, per seed, with the off-policy estimates of other alphas checked against the replay's truth.

Each run: 100 warm-up prompts answered by every model, 1,500 stream prompts routed at the stream's alpha through
the public API (``route`` then ``record_call`` with the chosen model's outcome only), the fit refitted every 250
calls, then the final store judged on the held-out prompts by ``scope eval``'s AIQ (``scope_core.evaluation.online``).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/online.py [--seeds 0 1 2] [--alphas 0.7] [--explore 0.1]
    .venv/bin/python benchmarks/online.py --tables   # the tables of every run saved under benchmarks/online/
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scope_core.evaluation.online import OnlineReport, OnlineRun, run_online  # noqa: E402
from scope_core.evaluation.plot_online import plot_online  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "online"


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _interval(run: OnlineRun) -> str:
    return "-" if run.vs_none is None else f"{run.vs_none[0]:+.4f} to {run.vs_none[1]:+.4f}"


def table(reports: list[OnlineReport]) -> list[str]:
    """Final AIQs (and the 95% bootstrap interval of each learner's difference from no learning), the share of the
    gap to full information closed, held-out log loss and the stream's accuracy, per data set, alpha and seed."""
    learners = [v for v in ("bandit", "explore") if any(run.variant == v for r in reports for run in r.runs)]
    lines = [
        "| data set | stream alpha | seed | no learning | "
        + " | ".join(f"{v} (vs none, 95%) | gap closed" for v in learners)
        + " | full information | log loss (none / "
        + " / ".join(learners)
        + " / full) | stream accuracy (none / "
        + " / ".join(learners)
        + " / full) |",
        "|---|---|---|---|" + "---|---|" * len(learners) + "---|---|---|",
    ]
    for r in reports:
        for alpha in sorted({run.alpha for run in r.runs}):
            runs = [r.run(v, alpha) for v in ("none", *learners, "full")]
            cells = []
            for v in learners:
                gap = r.gap_closed(alpha, v)
                cells.append(f"{r.run(v, alpha).aiq:.4f} ({_interval(r.run(v, alpha))}) | "
                             f"{'-' if gap is None else f'{gap:.0%}'}")  # fmt: skip
            lines.append(
                f"| {r.data} | {alpha:g} | {r.seed} | {runs[0].aiq:.4f} | {' | '.join(cells)} | {runs[-1].aiq:.4f} | "
                + " / ".join(f"{x.log_loss:.4f}" for x in runs)
                + " | "
                + " / ".join(f"{x.accuracy:.3f}" for x in runs)
                + " |"
            )
    return lines


def off_policy_table(reports: list[OnlineReport]) -> list[str]:
    lines = [
        "| data set | stream | stream alpha | seed | target alpha | truth | doubly robust (95% CI) | direct | IPS | agrees "
        "| effective calls |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        for run in (x for x in r.runs if x.off_policy):
            for c in run.off_policy:
                e = c.estimate
                ips = "-" if e.ips is None else f"{e.ips:.3f}"
                effective = "-" if e.effective_calls is None else f"{e.effective_calls:.0f}"
                lines.append(
                    f"| {r.data} | {run.variant} | {run.alpha:g} | {r.seed} | {c.alpha:g} | {c.truth:.3f} | {e.doubly_robust:.3f} "
                    f"({e.ci_low:.3f}-{e.ci_high:.3f}) | {e.direct:.3f} | {ips} | {e.agreement:.0%} | {effective} |"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["routerbench-3k", "mmlu-pro-29"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.7])
    parser.add_argument("--explore", type=float, default=None)
    parser.add_argument("--stream", type=int, default=1500)
    parser.add_argument("--holdout", type=int, default=1550)
    parser.add_argument("--tag", default="", help="suffix of the JSON and plot files (variants of a run)")
    parser.add_argument("--variants", nargs="+", default=None, help="default: none, bandit (explore) full")
    parser.add_argument("--tables", action="store_true", help="only print the tables of the runs saved before")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.tables:
        saved = [OnlineReport.model_validate_json(p.read_text()) for p in sorted(OUT.glob("*.json"))]
        print("\n".join([*table(saved), "", *off_policy_table(saved)]))
        return
    reports = []
    for name in args.data:
        for seed in args.seeds:
            _log(f"{name} seed {seed}")
            report = run_online(
                DATA / name, alphas=args.alphas, seed=seed, stream=args.stream, holdout=args.holdout,
                explore=args.explore, variants=args.variants,
                on_run=lambda r: _log(f"  {r.variant} alpha {r.alpha:g}: AIQ {r.aiq:.4f}, log loss {r.log_loss:.4f}"),
            )  # fmt: skip
            stem = f"{name}-s{seed}{args.tag}"
            (OUT / f"{stem}.json").write_text(report.model_dump_json(indent=1))
            plot_online(report, OUT / f"{stem}.png")
            reports.append(report)
            complete = {"none", "full"} <= {run.variant for run in report.runs}
            if complete:
                print("\n".join(table([report])[2:]), flush=True)
    if all({"none", "full"} <= {run.variant for run in r.runs} for r in reports):
        print("\n".join(table(reports)))
    print("\n".join(off_policy_table(reports)))
    print(json.dumps({"explore": args.explore, "alphas": args.alphas}))


if __name__ == "__main__":
    main()
