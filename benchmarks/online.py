"""The learning curve on both dev sets: a router fed its own traffic (bandit feedback) against no learning and full
information, per seed, with the off-policy estimates of other alphas checked against the replay's truth.

Each run: 100 warm-up prompts answered by every model, 1,500 stream prompts routed at the stream's alpha through
the public API (``route`` then ``record_call`` with the chosen model's outcome only), the fit refitted every 250
calls, then the final store judged on the held-out prompts by ``scope eval``'s AIQ (``scope_core.evaluation.online``).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/online.py [--seeds 0 1 2] [--alphas 0.7] [--explore 0.1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scope_core.evaluation.online import OnlineReport, run_online  # noqa: E402
from scope_core.evaluation.plot_online import plot_online  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "online"


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def table(reports: list[OnlineReport]) -> list[str]:
    lines = [
        "| data set | stream alpha | seed | no learning | bandit feedback | full information | gap closed | "
        "stream accuracy (none / bandit / full) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        for alpha in sorted({run.alpha for run in r.runs}):
            none, bandit, full = (r.run(v, alpha) for v in ("none", "bandit", "full"))
            gap = r.gap_closed(alpha)
            lines.append(
                f"| {r.data} | {alpha:g} | {r.seed} | {none.aiq:.4f} | {bandit.aiq:.4f} | {full.aiq:.4f} | "
                f"{'-' if gap is None else f'{gap:.0%}'} | {none.accuracy:.3f} / {bandit.accuracy:.3f} / "
                f"{full.accuracy:.3f} |"
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
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    reports = []
    for name in args.data:
        for seed in args.seeds:
            _log(f"{name} seed {seed}")
            report = run_online(
                DATA / name, alphas=args.alphas, seed=seed, stream=args.stream, holdout=args.holdout,
                explore=args.explore, on_run=lambda r: _log(f"  {r.variant} alpha {r.alpha:g}: AIQ {r.aiq:.4f}"),
            )  # fmt: skip
            stem = f"{name}-s{seed}{args.tag}"
            (OUT / f"{stem}.json").write_text(report.model_dump_json(indent=1))
            plot_online(report, OUT / f"{stem}.png")
            reports.append(report)
            print("\n".join(table([report])[2:]), flush=True)
    print("\n".join(table(reports)))
    print(json.dumps({"explore": args.explore, "alphas": args.alphas}))


if __name__ == "__main__":
    main()
