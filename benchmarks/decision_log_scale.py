"""How the decision log scales: ``scope report`` over 100,000 logged decisions, and a dashboard refresh on it.

Writes N synthetic decisions (11 candidates each, a third scored) to the decision log of a store (a real
`chroma run` server on loopback, or an embedded folder), then times the ``scope report`` command end to end and
the dashboard's refresh (the changed pages read, the report recomputed) after 64 new decisions.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/decision_log_scale.py [--decisions 100000] [--embedded] [--path DIR]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scope_core.observe.dashboard import LiveLog  # noqa: E402
from scope_core.observe.record import AttemptRecord, LoggedDecision, Prediction  # noqa: E402
from scope_core.observe.report import report_of  # noqa: E402
from scope_core.store.behaviour import BehaviourStore  # noqa: E402
from scope_core.store.decisions import PAGE, score_event  # noqa: E402
from tests.chroma_server import ChromaServer  # noqa: E402

MODELS = [f"model-{i}" for i in range(11)]


def decision(rng: random.Random, ts: float) -> LoggedDecision:
    predictions = {
        m: Prediction(p=rng.random(), p_std=0.05, input_tokens=900.0, output_tokens=rng.uniform(50, 500),
                      cost_usd=rng.uniform(1e-5, 1e-2))
        for m in MODELS
    }  # fmt: skip
    chosen = rng.choice(MODELS)
    return LoggedDecision(
        run_id=str(uuid.uuid4()), ts=ts, query_hash=uuid.uuid4().hex, estimator="knn-features", alpha=0.7,
        predictions=predictions, chosen=chosen, chosen_rank=0, route_ms=rng.uniform(8, 30),
        attempts=[AttemptRecord(model=chosen, attempt=0, latency_s=0.5)], model=chosen, input_tokens=900,
        output_tokens=200, cost_usd=predictions[chosen].cost_usd * rng.uniform(0.8, 1.2), tags=["bench"],
    )  # fmt: skip


def fill(store: BehaviourStore, n: int, rng: random.Random) -> None:
    start = time.time() - 86400
    for at in range(0, n, PAGE):
        batch = [decision(rng, start + (at + i) * 86400 / n) for i in range(min(PAGE, n - at))]
        store.decisions.append(decisions=[(d.model_dump(mode="json"), d.summary()) for d in batch])
        scored = [score_event(d.run_id, float(rng.random() < 0.7)) for d in batch[::3]]
        store.decisions.append(scores=scored)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--embedded", action="store_true", help="an embedded folder instead of a chroma server")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--path", type=Path, help="keep the store here; a later run with the same path reuses it")
    args = parser.parse_args()
    tmp = args.path or Path(tempfile.mkdtemp(prefix="scope-decisions-"))
    filled = tmp / f"filled-{args.decisions}"  # written once the store holds the decisions
    server = None
    if args.embedded:
        location = str(tmp / "store")
    else:
        server = ChromaServer(tmp / "chroma")
        server.start()
        location = server.url
    try:
        rng = random.Random(0)
        store = BehaviourStore.open(location)
        if not filled.exists():
            t = time.perf_counter()
            fill(store, args.decisions, rng)
            filled.touch()
            print(f"wrote {args.decisions} decisions in {time.perf_counter() - t:.1f} s ({location})")
        if args.embedded:
            del store  # the CLI opens the folder itself: this process lets it go
        command = [sys.executable, "-m", "scope_core.cli", "report", "--store", location, "--json", str(tmp / "r.json")]
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            if done.returncode:
                raise SystemExit(f"scope report failed: {done.stdout}{done.stderr}")
            times.append(time.perf_counter() - t)
        print(f"scope report over {args.decisions} decisions: {statistics.median(times):.2f} s median of {times}")
        live = LiveLog(BehaviourStore.open(location))
        t = time.perf_counter()
        live.refresh()
        first = time.perf_counter() - t
        refreshes = []
        for _ in range(args.repeats):
            fill(live.store, PAGE, rng)  # traffic arrives
            t = time.perf_counter()
            live.refresh()
            report_of(live.summaries())
            refreshes.append(time.perf_counter() - t)
        print(f"dashboard: first load {first:.2f} s, refresh after {PAGE} new decisions "
              f"{statistics.median(refreshes):.2f} s median of {[round(x, 2) for x in refreshes]}")  # fmt: skip
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
