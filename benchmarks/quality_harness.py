"""Fast offline quality harness: estimators, baselines, AIQ, calibration, cost error and budget pacing.

Skips Chroma: exact cosine k-NN in numpy over the train prompts, the same packed summaries the
store keeps (scope_core.summary), real ``estimator.estimate`` calls, then an alpha sweep with the
policy's utility, charging each prompt's recorded score and cost. Embeddings come from
``Router.embed_texts`` with the disk-cached MiniLM, exactly as the store sees prompts.

    .venv/bin/python benchmarks/quality_harness.py --data ../shared/data/routerbench-3k --seed 0
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from scope_core import (
    BehaviourStore,
    BudgetExhaustedError,
    BudgetGovernor,
    Router,
    default_embedder,
    get_estimator,
    load_dataset,
)
from scope_core import summary as sm
from scope_core.data import Dataset
from scope_core.estimators import ESTIMATORS, Estimator, QueryContext
from scope_core.specs import ModelSpec
from scope_core.store import Neighbourhood
from scope_core.tokens import count_tokens

ALPHAS = np.concatenate([[0.0], 1.0 / (1.0 + np.logspace(3, -4, 71)), [1.0]])  # dense near 1
CACHE = Path(os.environ.get("SCOPE_HARNESS_CACHE", "/tmp/scope-quality-harness"))


@dataclass
class Split:
    """A seeded train/test split with everything the harness needs as arrays."""

    data: Dataset
    models: list[str]
    train: list[str]
    test: list[str]
    emb: dict[str, np.ndarray]  # "train"/"test" -> (n, d)
    tokens: dict[str, np.ndarray]
    score: dict[str, np.ndarray]  # (n, m), NaN where missing
    cost: dict[str, np.ndarray]
    in_tok: dict[str, np.ndarray]
    out_tok: dict[str, np.ndarray]


def _embeddings_and_tokens(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    path = CACHE / f"{data.name}.npz"
    if path.exists():
        got = np.load(path)
        if len(got["tokens"]) == len(data.prompts):
            return got["emb"], got["tokens"]
    router = Router(BehaviourStore.ephemeral(), embedder=default_embedder(disk_cache=True))
    texts = [p.text for p in data.prompts]
    emb = np.concatenate([router.embed_texts(texts[s : s + 512]) for s in range(0, len(texts), 512)])
    tokens = np.asarray([count_tokens(t) for t in texts], dtype=np.float64)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, emb=emb, tokens=tokens)
    return emb, tokens


def load_split(path: str | Path | Dataset, seed: int = 0, train_frac: float = 0.5) -> Split:
    """Shuffle prompts with ``seed``; the first ``train_frac`` are train, the rest test (as ``scope eval``)."""
    data = path if isinstance(path, Dataset) else load_dataset(path)
    emb, tokens = _embeddings_and_tokens(data)
    ids = [p.id for p in data.prompts]
    order = np.random.default_rng(seed).permutation(len(ids))
    n_train = round(train_frac * len(ids))
    parts = {"train": order[:n_train], "test": order[n_train:]}
    ids_of = {k: [ids[i] for i in v] for k, v in parts.items()}
    return Split(
        data=data,
        models=data.models,
        train=ids_of["train"],
        test=ids_of["test"],
        emb={k: emb[v] for k, v in parts.items()},
        tokens={k: tokens[v] for k, v in parts.items()},
        score={k: data.matrix("score", ids_of[k]) for k in parts},
        cost={k: data.matrix("cost_usd", ids_of[k]) for k in parts},
        in_tok={k: data.matrix("input_tokens", ids_of[k]) for k in parts},
        out_tok={k: data.matrix("output_tokens", ids_of[k]) for k in parts},
    )


def mask_models(split: Split, models: Sequence[str], keep_train_rows: np.ndarray) -> Split:
    """The split with ``models``' train outcomes kept only on ``keep_train_rows`` (unseen-model runs)."""
    cols = [split.models.index(m) for m in models]
    drop = np.ones(len(split.train), dtype=bool)
    drop[keep_train_rows] = False

    def masked(matrix: np.ndarray) -> np.ndarray:
        out = matrix.copy()
        out[np.ix_(drop, cols)] = np.nan
        return out

    fields = ("score", "cost", "in_tok", "out_tok")
    return replace(split, **{f: {**getattr(split, f), "train": masked(getattr(split, f)["train"])} for f in fields})


def train_summaries(split: Split) -> list[dict[str, sm.Summary]]:
    """Per train prompt, {model: summary} exactly as the store packs it."""
    out = []
    s, c, it, ot = (getattr(split, f)["train"] for f in ("score", "cost", "in_tok", "out_tok"))
    for i in range(len(split.train)):
        per_model = {}
        for j, m in enumerate(split.models):
            if np.isnan(s[i, j]):
                continue
            per_model[m] = [1.0, s[i, j], 1.0, ot[i, j], it[i, j], c[i, j]]
        out.append(per_model)
    return out


def priors_of(summaries: Sequence[dict[str, sm.Summary]]) -> dict[str, sm.Summary]:
    priors: dict[str, sm.Summary] = {}
    for per_model in summaries:
        sm.merge(priors, per_model)
    return priors


def contexts(split: Split, k: int = 32, part: str = "test") -> list[QueryContext]:
    """QueryContexts of the ``part`` prompts against the train prompts (exact cosine k-NN)."""
    summaries = train_summaries(split)
    priors = priors_of(summaries)
    sims = split.emb[part] @ split.emb["train"].T
    if part == "train":
        np.fill_diagonal(sims, -np.inf)  # leave-one-out
    top = np.argpartition(-sims, k, axis=1)[:, :k]
    out = []
    for q in range(sims.shape[0]):
        idx = top[q][np.argsort(-sims[q, top[q]])]
        nb = Neighbourhood(
            ids=[split.train[i] for i in idx],
            similarities=sims[q, idx].astype(np.float64),
            tokens=split.tokens["train"][idx],
            stats=[summaries[i] for i in idx],
        )
        out.append(QueryContext("", split.emb[part][q], int(split.tokens[part][q]), nb, priors))
    return out


def predict(estimator: Estimator, ctxs: Sequence[QueryContext], specs: Sequence[ModelSpec]) -> tuple:
    """(P, C, ms per call): predicted P(correct) and cost, shape (queries, models)."""
    start = time.perf_counter()
    rows = [estimator.estimate(ctx, specs) for ctx in ctxs]
    ms = (time.perf_counter() - start) * 1000 / max(len(ctxs), 1)
    p = np.asarray([[e.p_correct for e in r] for r in rows])
    c = np.asarray([[e.cost_usd for e in r] for r in rows])
    return p, c, ms


def cost_ref(split: Split) -> float:
    """The router's cost unit: the dearest model's mean recorded train cost per call."""
    return float(np.nanmax(np.nanmean(split.cost["train"], axis=0)))


def choices(p: np.ndarray, c: np.ndarray, alpha: float, c_ref: float) -> np.ndarray:
    """Per query, the model ``policy.choose`` picks (highest utility, ties to the cheaper)."""
    u = alpha * p - (1 - alpha) * c / c_ref
    best = u >= u.max(axis=1, keepdims=True) - 1e-12
    return np.where(best, c, np.inf).argmin(axis=1)


def sweep(p: np.ndarray, c: np.ndarray, split: Split, c_ref: float, alphas=ALPHAS) -> np.ndarray:
    """(cost, accuracy) of the router over the test part at each alpha: shape (alphas, 2)."""
    score, cost = np.nan_to_num(split.score["test"]), np.nan_to_num(split.cost["test"])
    rows = np.arange(len(p))
    pts = []
    for a in alphas:
        pick = choices(p, c, a, c_ref)
        pts.append((cost[rows, pick].sum(), score[rows, pick].mean()))
    return np.asarray(pts)


def envelope(points: np.ndarray) -> np.ndarray:
    """Vertices of the non-decreasing upper concave envelope of (cost, accuracy) points."""
    pts = sorted(map(tuple, points))
    hull: list[tuple[float, float]] = []
    for x, y in pts:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) >= 0:
                hull.pop()
            else:
                break
        if hull and hull[-1][0] == x:
            hull[-1] = (x, max(y, hull[-1][1]))
        else:
            hull.append((x, y))
    top = int(np.argmax([y for _, y in hull]))
    return np.asarray(hull[: top + 1])


def aiq(points: np.ndarray, c_min: float, c_max: float, grid: int = 4001) -> float:
    """Mean of the envelope over [c_min, c_max] (flat outside the operating points)."""
    hull = envelope(points)
    xs = np.linspace(c_min, c_max, grid)
    return float(np.trapezoid(np.interp(xs, hull[:, 0], hull[:, 1]), xs) / (c_max - c_min))


def cost_to_reach(points: np.ndarray, accuracy: float) -> float:
    """Least envelope cost at which accuracy is reached (inf if never)."""
    hull = envelope(points)
    if hull[-1, 1] < accuracy:
        return float("inf")
    if hull[0, 1] >= accuracy:
        return float(hull[0, 0])
    return float(np.interp(accuracy, hull[:, 1], hull[:, 0]))


def singles(split: Split) -> dict[str, tuple[float, float]]:
    """Each model's (total test cost, accuracy)."""
    s, c = split.score["test"], split.cost["test"]
    return {m: (float(np.nansum(c[:, j])), float(np.nanmean(s[:, j]))) for j, m in enumerate(split.models)}


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of P(correct) over all (query, model) pairs with an outcome."""
    ok = ~np.isnan(y)
    p, y = p[ok], y[ok]
    edges = np.minimum((p * bins).astype(int), bins - 1)
    return float(
        sum(abs(p[edges == b].mean() - y[edges == b].mean()) * (edges == b).sum() for b in np.unique(edges)) / len(p)
    )


def cost_mdape(c: np.ndarray, split: Split) -> dict[str, float]:
    """Per model, the median absolute percentage error of the predicted per-call cost."""
    actual = split.cost["test"]
    out = {}
    for j, m in enumerate(split.models):
        ok = ~np.isnan(actual[:, j]) & (actual[:, j] > 0)
        out[m] = float(np.median(np.abs(c[ok, j] - actual[ok, j]) / actual[ok, j]))
    return out


def logistic_baseline(split: Split) -> np.ndarray:
    """Per-model logistic regression on the embedding: P(correct) on the test part."""
    from sklearn.linear_model import LogisticRegression

    s = split.score["train"]
    p = np.zeros((len(split.test), len(split.models)))
    for j in range(len(split.models)):
        ok = ~np.isnan(s[:, j])
        y = s[ok, j] > 0.5
        if y.all() or not y.any():
            p[:, j] = float(y.mean())
            continue
        clf = LogisticRegression(C=1.0, max_iter=2000).fit(split.emb["train"][ok], y)
        p[:, j] = clf.predict_proba(split.emb["test"])[:, 1]
    return p


def mean_cost_prediction(split: Split) -> np.ndarray:
    """Each model's mean train cost per call, for every test prompt (the baselines' cost)."""
    return np.tile(np.nanmean(split.cost["train"], axis=0), (len(split.test), 1))


@dataclass
class Report:
    name: str
    aiq: float
    max_acc: float
    cost_to_best: float  # fraction of the best single model's cost
    ece: float
    ms: float
    mdape: float


def evaluate(name: str, p: np.ndarray, c: np.ndarray, split: Split, ms: float = 0.0) -> Report:
    single = singles(split)
    costs = [v[0] for v in single.values()]
    best_cost, best_acc = max(single.values(), key=lambda v: v[1])
    pts = sweep(p, c, split, cost_ref(split))
    mdape = float(np.median(list(cost_mdape(c, split).values())))
    return Report(
        name,
        aiq(pts, min(costs), max(costs)),
        float(pts[:, 1].max()),
        cost_to_reach(pts, best_acc) / best_cost,
        ece(p, split.score["test"]),
        ms,
        mdape,
    )


def zero_router(split: Split) -> float:
    """AIQ of the envelope of the single models (routing without prompt information)."""
    single = np.asarray(list(singles(split).values()))
    return aiq(single, single[:, 0].min(), single[:, 0].max())


def oracle(split: Split) -> tuple[float, float]:
    """Oracle accuracy and its cost as a fraction of the best single model's cost."""
    s, c = np.nan_to_num(split.score["test"], nan=-1), np.nan_to_num(split.cost["test"], nan=np.inf)
    key = s * 1e6 - c
    pick = key.argmax(axis=1)
    rows = np.arange(len(s))
    best_cost = max(singles(split).values(), key=lambda v: v[1])[0]
    return float(s[rows, pick].mean()), float(c[rows, pick].sum() / best_cost)


# -- budget pacing --------------------------------------------------------------------------
def replay_budget(p: np.ndarray, c: np.ndarray, split: Split, budget: float, **governor) -> tuple[float, float, float]:
    """Route the test stream in order under a BudgetGovernor: (spend, accuracy, max spend seen)."""
    score, cost = np.nan_to_num(split.score["test"]), np.nan_to_num(split.cost["test"])
    gov = BudgetGovernor(budget, len(p), **governor)
    c_ref = cost_ref(split)
    right = 0.0
    for q in range(len(p)):
        try:
            o = gov.overrides()
        except BudgetExhaustedError:
            break
        u = o["alpha"] * p[q] - (1 - o["alpha"]) * c[q] / c_ref
        u = np.where(c[q] <= o["max_cost"], u, -np.inf)
        if np.isneginf(u).all():
            break  # nothing fits under the cap: the router would raise NoCandidateError
        pick = int(np.where(u >= u.max() - 1e-12, c[q], np.inf).argmin())
        gov.observe(cost[q, pick])
        right += score[q, pick]
    return gov.spent, right / len(p), gov.hard_cap


def best_fixed_alpha(p: np.ndarray, c: np.ndarray, split: Split, spend: float) -> float:
    """Hindsight: the accuracy of the best fixed alpha whose total spend is within ``spend``."""
    pts = sweep(p, c, split, cost_ref(split), alphas=np.concatenate([ALPHAS, np.linspace(0, 1, 201)]))
    ok = pts[:, 0] <= spend * 1.0001
    return float(pts[ok, 1].max()) if ok.any() else float("nan")


def budget_table(p: np.ndarray, c: np.ndarray, split: Split, fractions=(0.1, 0.25, 0.5)) -> list[dict]:
    best_cost = max(singles(split).values(), key=lambda v: v[1])[0]
    rows = []
    for f in fractions:
        budget = f * best_cost
        spent, acc, cap = replay_budget(p, c, split, budget)
        rows.append(
            {
                "fraction": f,
                "spend_vs_budget": spent / budget - 1,
                "over_cap": spent > cap,
                "accuracy": acc,
                "best_fixed": best_fixed_alpha(p, c, split, spent),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/routerbench-3k")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--estimators", nargs="*", default=sorted(ESTIMATORS))
    parser.add_argument("--budget", action="store_true", help="also replay the budget governor")
    args = parser.parse_args()
    split = load_split(args.data, args.seed)
    specs = [split.data.specs[m] for m in split.models]
    best = max(singles(split).items(), key=lambda kv: kv[1][1])
    o_acc, o_cost = oracle(split)
    print(f"{split.data.name} seed {args.seed}: {len(split.train)} train / {len(split.test)} test, {len(specs)} models")
    print(
        f"best single {best[0]} acc {best[1][1]:.3f}; oracle {o_acc:.3f} at {o_cost:.1%}; zero {zero_router(split):.3f}"
    )
    print(f"{'estimator':<22}{'AIQ':>7}{'maxacc':>8}{'cost@best':>10}{'ECE':>7}{'MdAPE':>7}{'ms':>7}")
    reports = [evaluate("logistic", logistic_baseline(split), mean_cost_prediction(split), split)]
    ctxs = contexts(split, args.k)
    preds = {}
    for name in args.estimators:
        p, c, ms = predict(get_estimator(name), ctxs, specs)
        preds[name] = (p, c)
        reports.append(evaluate(name, p, c, split, ms))
    for r in reports:
        print(f"{r.name:<22}{r.aiq:7.3f}{r.max_acc:8.3f}{r.cost_to_best:10.1%}{r.ece:7.3f}{r.mdape:7.1%}{r.ms:7.2f}")
    if args.budget:
        for name, (p, c) in preds.items():
            for row in budget_table(p, c, split):
                print(
                    f"budget {name} {row['fraction']:.0%}: spend {row['spend_vs_budget']:+.1%} over_cap={row['over_cap']} "
                    f"acc {row['accuracy']:.3f} vs best fixed {row['best_fixed']:.3f}"
                )


if __name__ == "__main__":
    main()
