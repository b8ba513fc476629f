"""``scope demo``: half of a data set ingested, the other half routed, compared with the best single model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from scope_core.cli.app import app, command, console, fail, open_router, show_progress

DEMO_DATA = Path("../shared/data/routerbench-3k")
DEMO_ALPHA = 0.9  # the demo's default trade-off; its totals also show DEMO_ALPHAS
DEMO_ALPHAS = (0.5, 0.9, 0.95, 0.99)


def demo_store() -> Path:
    """Where the demo's store lives unless --store says otherwise: ``$SCOPE_DEMO_STORE``, else ``~/.scope/demo``."""
    return Path(os.environ.get("SCOPE_DEMO_STORE") or Path.home() / ".scope" / "demo")


@app.command()
@command
def demo(
    data: Annotated[Path | None, typer.Option(help="data folder (default ../shared/data/routerbench-3k)")] = None,
    store: Annotated[
        str | None, typer.Option("--store", help="store folder (default: the demo's own, ~/.scope/demo)")
    ] = None,
    n: Annotated[int | None, typer.Option(help="route only the first N test prompts")] = None,
    alpha: Annotated[float, typer.Option(help="the trade-off shown prompt by prompt")] = DEMO_ALPHA,
):
    """Ingest half of a data set, route the other half, compare with always using the best model."""
    from scope_core.data.dataset import load_dataset
    from scope_core.evaluation.demo import run_demo

    path = data or DEMO_DATA
    if not path.exists():
        raise fail(f"no data at {path}; pass --data PATH")
    where = store or str(demo_store())
    if store is None:
        console.print(
            f"the demo keeps its own store at {where} (your default store is untouched; delete the folder to "
            "reclaim the space, or pass --store)",
            highlight=False,
        )
    router = open_router(where)
    run_demo(load_dataset(path), router, console, n=n, alpha=alpha, alphas=DEMO_ALPHAS, progress=show_progress())
