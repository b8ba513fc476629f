"""Build the shipped anchor set, scope_core/anchors/anchors.jsonl.gz, from mmlu-pro-29 (MIT-licensed MMLU-Pro).

Selection (deterministic for a given seed and source):
1. Candidates: questions with a gold letter whose prompt is at most ``--max-chars`` characters (cheap to
   profile) and that some but not all of the 29 published models answered correctly (a question every
   model gets right, or none does, tells models apart no better than a coin).
2. Per subject (all 14 MMLU-Pro subjects get the same share, so small subjects are covered as well as
   large ones), the candidates are sorted by how many models answered them correctly and cut into
   ``--bins`` difficulty bins of equal size; ``--per-subject / --bins`` questions are drawn from each
   bin at random (``numpy.random.default_rng(seed)``).
3. The file lists the anchors round-robin over subjects, so its first N rows cover the subjects evenly
   (``scope profile --anchors N``).

    python scripts/build_anchors.py --source ../shared/data/mmlu-pro-29
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
from collections import defaultdict
from pathlib import Path

import numpy as np
import orjson

OUT = Path(__file__).resolve().parents[1] / "scope_core" / "anchors" / "anchors.jsonl.gz"


def _rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def select(source: Path, per_subject: int, bins: int, max_chars: int, seed: int) -> list[dict[str, str]]:
    """The anchors, round-robin over subjects: dicts of id, subject, prompt, gold."""
    gold = {r["prompt_id"]: r["answer"].strip().upper() for r in _rows(source / "answers.csv.gz")}
    right: dict[str, list[float]] = defaultdict(list)
    for r in _rows(source / "outcomes.csv.gz"):
        right[r["prompt_id"]].append(float(r["score"]))
    by_subject: dict[str, list[tuple[float, str, dict[str, str]]]] = defaultdict(list)
    for r in _rows(source / "prompts.csv.gz"):
        scores = right.get(r["prompt_id"], [])
        share = sum(scores) / len(scores) if scores else 0.0
        if r["prompt_id"] in gold and len(r["prompt"]) <= max_chars and 0.0 < share < 1.0:
            by_subject[r["task"]].append((share, r["prompt_id"], r))
    rng = np.random.default_rng(seed)
    chosen: dict[str, list[dict[str, str]]] = {}
    for subject in sorted(by_subject):
        ranked = sorted(by_subject[subject], key=lambda t: (t[0], t[1]))
        picks = []
        for part in np.array_split(np.arange(len(ranked)), bins):
            for i in sorted(rng.choice(part, size=per_subject // bins, replace=False).tolist()):
                _, pid, row = ranked[i]
                picks.append({"id": pid, "subject": subject, "prompt": row["prompt"], "gold": gold[pid]})
        chosen[subject] = picks
    return [chosen[s][i] for i in range(max(map(len, chosen.values()))) for s in sorted(chosen) if i < len(chosen[s])]


def write(anchors: list[dict[str, str]], out: Path) -> None:
    """Write gzipped JSONL with a fixed header (mtime 0), so the same anchors give the same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        for anchor in anchors:
            gz.write(orjson.dumps(anchor) + b"\n")
    out.write_bytes(buf.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("../shared/data/mmlu-pro-29"))
    parser.add_argument("--per-subject", type=int, default=20)
    parser.add_argument("--bins", type=int, default=5)
    parser.add_argument("--max-chars", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    anchors = select(args.source, args.per_subject, args.bins, args.max_chars, args.seed)
    write(anchors, args.out)
    print(f"{len(anchors)} anchors over {len({a['subject'] for a in anchors})} subjects -> {args.out}")


if __name__ == "__main__":
    main()
