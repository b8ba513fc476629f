"""How long the store fit takes: ingest a whole data set into a fresh store, then time ``router.fit()``.

HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/fit_speed.py --data ../shared/data/mmlu-pro-29
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from scope_core import BehaviourStore, Router, load_dataset
from scope_core.text.embedder import default_embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared/data/mmlu-pro-29"
    )
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    store = BehaviourStore.ephemeral()
    try:
        router = Router(store, embedder=default_embedder(disk_cache=True))
        started = time.perf_counter()
        router.ingest(dataset, progress=False, fit=False)
        print(f"{dataset.name}: {len(dataset.prompts)} prompts x {len(dataset.models)} models ingested in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        for _ in range(args.repeats):
            started = time.perf_counter()
            fit = router.fit()
            took = time.perf_counter() - started
            groups = f"{fit.groups.source} groups ({len(fit.groups.names)})" if fit and fit.groups else "global prior"
            print(f"fit: {took:.1f} s ({groups}, {len(fit.members) if fit else 0} ensemble members, "
                  f"held-out log loss {fit.log_loss:.4f} vs defaults {fit.log_loss_default:.4f})")  # fmt: skip
    finally:
        store.drop()


if __name__ == "__main__":
    main()
