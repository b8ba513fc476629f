"""Commands on the store: ingest, fit, repair, stats (models: ``scope_core.cli.models``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scope_core.cli.app import (
    StoreOption,
    StorePromptsOption,
    app,
    command,
    console,
    fit_line,
    open_router,
    show_progress,
    timed,
)
from scope_core.money import usd
from scope_core.store import summary as sm


@app.command()
@command
def ingest(
    data: Annotated[Path, typer.Argument(help="data folder or long CSV/JSONL file")],
    store: StoreOption = None,
    store_prompts: StorePromptsOption = True,
    update_prices: Annotated[
        bool, typer.Option("--update-prices", help="let the data set's (fitted) prices replace registered ones")
    ] = False,
):
    """Store a data set's outcomes (idempotent) and register its models (registered prices are kept)."""
    from scope_core.data.dataset import load_dataset

    dataset = load_dataset(data)
    router = open_router(store, store_prompts=store_prompts)
    changed = router.ingest(dataset, progress=show_progress(), update_prices=update_prices)
    counts = f"{len(dataset.prompts)} prompts, {len(dataset.outcomes)} outcomes ({changed} new or changed)"
    console.print(f"ingested {dataset.name}: {counts}, {len(dataset.specs)} models")


@app.command()
@command
def fit(store: StoreOption = None):
    """Refit the estimator on the store's own outcomes (settings, calibration, imputers; leave-one-out)."""
    router = open_router(store)
    took = timed(router.fit)[1]  # the fit's line once it is saved
    console.print(fit_line(router), took)


@app.command()
@command
def repair(store: StoreOption = None):
    """Re-derive prompt summaries and model priors from the outcome records (after a crash; no other writer)."""
    router = open_router(store)
    fixed, took = timed(router.repair)
    console.print(
        f"repaired: {fixed} prompt summaries rewritten, priors of {len(router.models())} models rebuilt from "
        f"{router.store.count_outcomes()} outcomes {took}"
    )


@app.command()
@command
def stats(store: StoreOption = None):
    """Counts of stored prompts and outcomes, each model's evidence coverage, and the store's fit."""
    from scope_core.store.coverage import evidence_coverage

    router = open_router(store)
    console.print(f"prompts: {router.store.count_prompts()}  outcomes: {router.store.count_outcomes()}")
    console.print(fit_line(router))
    coverage = evidence_coverage(router.store)
    table = Table("model", "outcomes", "n scored", "errors", "mean score", "n with usage", "mean cost")
    cold = []
    for name, prior in sorted(router.store.priors().items()):
        n, u, c = prior[sm.N_SCORED], prior[sm.N_USAGE], coverage.get(name)
        if c is None or c.cold_start:
            cold.append(name)
        table.add_row(
            name,
            f"{c.outcomes if c else 0}",
            f"{int(n)}",
            f"{c.errors if c else 0}",
            f"{prior[sm.SCORE_SUM] / n:.3f}" if n else "-",
            f"{int(u)}",
            usd(prior[sm.COST_SUM] / u) if u else "-",
        )
    console.print(table)
    if cold:
        console.print(
            f"cold start (no scored outcome; routed on defaults): {', '.join(cold)}. Run `scope profile` on them."
        )
