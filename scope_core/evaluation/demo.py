"""The README's main job on real data: learn from half of the prompts, route the other half."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.table import Column, Table

from scope_core.data.dataset import Dataset
from scope_core.evaluation.split import split_prompts
from scope_core.evaluation.sweep import operating_points, route_prompts
from scope_core.money import usd
from scope_core.routing.policy import RouteOptions, choose
from scope_core.routing.router import Router
from scope_core.text.turns import focus


def _short(model: str) -> str:
    return model.split("/")[-1]


def _money(x: float) -> str:
    return usd(x, 2)


def run_demo(
    dataset: Dataset,
    router: Router,
    console: Console,
    *,
    alpha: float,
    alphas: Sequence[float],
    n: int | None = None,
    seed: int = 0,
    shown: int = 8,
    progress: bool = False,
) -> None:
    """Ingest the train half into ``router``'s store, route the test half, print decisions and totals (80 columns
    suffice: prompts are cut, names wrap, numbers never are)."""
    train_ids, test_ids = split_prompts(dataset, 0.5, seed)
    train = dataset.subset(train_ids)
    console.print(f"[bold]1.[/] ingest {len(train_ids)} train prompts of {dataset.name} into {router.store.location}")
    router.ingest(train, progress=progress)

    scores = dataset.matrix("score", test_ids[:n] if n else test_ids)
    answered = ~np.all(np.isnan(scores), axis=1)
    test_ids = [i for i, a in zip(test_ids[:n] if n else test_ids, answered, strict=True) if a]
    scores, costs = scores[answered], np.nan_to_num(dataset.matrix("cost_usd", test_ids), nan=0.0)
    models, text_of = dataset.models, {p.id: p.text for p in dataset.prompts}
    texts = [text_of[i] for i in test_ids]
    candidates = [[m for j, m in enumerate(models) if not np.isnan(scores[i, j])] for i in range(len(test_ids))]
    console.print(f"[bold]2.[/] route {len(test_ids)} unseen test prompts")
    routed = route_prompts(router, texts, candidates, progress=progress)[router.estimator.name]

    specs = router.models()
    table = Table(
        Column("prompt", no_wrap=True, overflow="ellipsis", max_width=max(12, console.width - 60)),
        Column("chosen", overflow="fold"),
        *(Column(h, no_wrap=True, justify="right") for h in ("p(correct)", "est. cost", "score")),
        title=f"decisions at alpha={alpha}",
    )
    for text, r, row in list(zip(texts, routed, scores, strict=True))[:shown]:
        choice = choose(r.estimates, specs, RouteOptions(alpha=alpha), r.cost_ref)
        e = next(e for e in r.estimates if e.model == choice.chosen)
        table.add_row(
            " ".join(focus(text).split()),  # the part the router embeds, not a few-shot head
            _short(choice.chosen),
            f"{e.p_correct:.2f}",
            _money(e.cost_usd),
            f"{row[models.index(e.model)]:g}",
        )
    console.print(table)

    best_j = int(np.nanargmax(np.nanmean(train.matrix("score"), axis=0)))
    best_cost, best_acc = float(costs[:, best_j].sum()), float(np.nanmean(scores[:, best_j]))
    filled = np.nan_to_num(scores, nan=0.0)
    points = operating_points(routed, specs, sorted({*alphas, alpha}), filled, costs, models)
    totals = Table(
        Column("policy", overflow="fold"),
        *(Column(h, no_wrap=True, justify="right") for h in ("accuracy", "total cost", "vs best")),
        Column("most chosen", overflow="fold"),
        title=f"test half totals ({len(test_ids)} prompts)",
    )
    best = _short(models[best_j])
    totals.add_row(f"always {best}", f"{best_acc:.3f}", _money(best_cost), "100%", "best on train")
    for p in points:
        top = ", ".join(f"{_short(m)} ({c})" for m, c in Counter(p.choices).most_common(1))
        share = f"{100 * p.cost / best_cost:.0f}%" if best_cost > 0 else "-"
        totals.add_row(f"alpha={p.alpha:g}", f"{p.accuracy:.3f}", _money(p.cost), share, top)
    console.print(totals)
    for line in (
        "alpha weighs accuracy against cost: 0 always takes the cheapest model, 1 the one most likely to be right; "
        "at alpha a one point of predicted accuracy is worth a/(1-a)% of the dearest model's typical call.",
        f"vs best: the routed total cost as a share of always calling {best}; the saving is 100% minus it, "
        "at the accuracy shown beside it.",
    ):
        console.print(line, soft_wrap=False, highlight=False)
