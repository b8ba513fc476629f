"""``scope demo``: half of a data set ingested, the other half routed, compared with the best single model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scope_core.cli.app import StoreOption, app, command, console, fail, open_router

DEMO_DATA = Path("../shared/data/routerbench-3k")
DEMO_ALPHA = 0.9  # the demo's default trade-off; its totals also show DEMO_ALPHAS
DEMO_ALPHAS = (0.5, 0.9, 0.95, 0.99)


@app.command()
@command
def demo(
    data: Annotated[Path | None, typer.Option(help="data folder (default ../shared/data/routerbench-3k)")] = None,
    store: StoreOption = None,
    n: Annotated[int | None, typer.Option(help="route only the first N test prompts")] = None,
    alpha: Annotated[float, typer.Option(help="the trade-off shown prompt by prompt")] = DEMO_ALPHA,
):
    """Ingest half of a data set, route the other half, compare with always using the best model."""
    from scope_core.data.dataset import load_dataset
    from scope_core.evaluation.demo import run_demo

    path = data or DEMO_DATA
    if not path.exists():
        raise fail(f"no data at {path}; pass --data PATH")
    run_demo(load_dataset(path), open_router(store), console, n=n, alpha=alpha, alphas=DEMO_ALPHAS)
