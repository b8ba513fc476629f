"""The ``scope`` command line: ingest, inspect, route, repair, evaluate, profile, demo."""

from __future__ import annotations

import functools
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from . import summary as sm
from .data import load_dataset
from .embedder import default_embedder
from .errors import ScopeError
from .fit import StoreFit
from .router import DEFAULT_K, Router
from .specs import ModelSpec
from .store import BehaviourStore

app = typer.Typer(help="scope: route each LLM call to the model that best fits your cost-quality trade-off.")
console = Console()

DEMO_DATA = Path("../shared/data/routerbench-3k")
DEMO_ALPHA = 0.9  # the demo's default trade-off; its totals also show DEMO_ALPHAS
DEMO_ALPHAS = (0.5, 0.9, 0.95, 0.99)

StoreOption = Annotated[
    str | None, typer.Option("--store", help="store folder or http://host:port (default ~/.scope/store, $SCOPE_STORE)")
]
EstimatorOption = Annotated[str, typer.Option("--estimator", help="estimator name (scope_core.estimators)")]
StorePromptsOption = Annotated[
    bool, typer.Option("--store-prompts/--no-store-prompts", help="keep prompt texts in the store (and its journal)")
]


def _router(store: str | None, estimator: str = "knn", *, store_prompts: bool = True) -> Router:
    return Router(
        BehaviourStore.open(store, store_prompts=store_prompts),
        estimator=estimator,
        embedder=default_embedder(disk_cache=True),
    )


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def _command(func: Callable) -> Callable:
    """Report scope and input errors as one red line and exit code 1, without a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ScopeError, ValueError) as exc:
            raise _fail(str(exc)) from None

    return wrapper


def _money(x: float | None) -> str:
    return "-" if x is None else f"${x:,.4f}" if x >= 0.01 else f"${x:.2e}"


@app.command()
@_command
def ingest(
    data: Annotated[Path, typer.Argument(help="data folder or long CSV/JSONL file")],
    store: StoreOption = None,
    store_prompts: StorePromptsOption = True,
    update_prices: Annotated[
        bool, typer.Option("--update-prices", help="let the data set's (fitted) prices replace registered ones")
    ] = False,
):
    """Store a data set's outcomes (idempotent) and register its models (registered prices are kept)."""
    dataset = load_dataset(data)
    router = _router(store, store_prompts=store_prompts)
    changed = router.ingest(dataset, progress=True, update_prices=update_prices)
    console.print(
        f"ingested {dataset.name}: {len(dataset.prompts)} prompts, {len(dataset.outcomes)} outcomes "
        f"({changed} new or changed), {len(dataset.specs)} models"
    )


@app.command()
@_command
def models(store: StoreOption = None):
    """List the registered models with their prices and evidence."""
    router = _router(store)
    priors = router.store.priors()
    table = Table("model", "input $/M", "output $/M", "context", "capabilities", "scored", "mean score")
    for name, spec in sorted(router.models().items()):
        prior = priors.get(name) or sm.empty()
        n = prior[sm.N_SCORED]
        table.add_row(
            name,
            f"{spec.input_price:g}",
            f"{spec.output_price:g}",
            f"{spec.context_window:,}",
            ", ".join(sorted(c.value for c in spec.capabilities)) or "-",
            f"{int(n)}",
            f"{prior[sm.SCORE_SUM] / n:.3f}" if n else "-",
        )
    console.print(table)


@app.command()
@_command
def route(
    text: Annotated[str, typer.Argument(help="the prompt to route")],
    store: StoreOption = None,
    alpha: Annotated[float | None, typer.Option(help="0 = cheapest, 1 = most accurate")] = None,
    max_cost: Annotated[float | None, typer.Option(help="USD cap on the predicted call cost")] = None,
    min_accuracy: Annotated[float | None, typer.Option(help="cheapest model predicted to reach it")] = None,
    estimator: EstimatorOption = "knn",
    as_json: Annotated[bool, typer.Option("--json", help="print the decision summary as JSON")] = False,
):
    """Show each model's estimate for a prompt and the model the policy chooses."""
    router = _router(store, estimator)
    decision = router.route(text, alpha=alpha, max_cost=max_cost, min_accuracy=min_accuracy)
    if as_json:
        console.print_json(json.dumps(decision.overview()))
        return
    table = Table("model", "p(correct)", "± std", "est. cost", "utility", "status")
    for e in sorted(decision.estimates, key=lambda e: -decision.utilities.get(e.model, -1e9)):
        status = "[bold green]chosen[/]" if e.model == decision.chosen else decision.excluded.get(e.model, "")
        utility = decision.utilities.get(e.model)
        table.add_row(
            e.model,
            f"{e.p_correct:.3f}",
            f"{e.p_std:.3f}",
            _money(e.cost_usd),
            "-" if utility is None else f"{utility:.4f}",
            status,
        )
    console.print(table)
    console.print(f"chosen: [bold]{decision.chosen}[/] ({decision.reason})")


def _fit_line(fit: StoreFit | None) -> str:
    if fit is None:
        return "fit: none (knn defaults; run `scope fit` once the store holds a few hundred scored prompts)"
    return (
        f"fit: temperature {fit.temperature:g}, prior strength {fit.prior_strength:g}, calibrated; held-out log loss "
        f"{fit.log_loss:.4f} (defaults {fit.log_loss_default:.4f}) on {fit.n_pairs} outcomes of {fit.n_queries} prompts"
    )


@app.command()
@_command
def fit(store: StoreOption = None):
    """Refit the estimator settings and calibration on the store's own outcomes (leave-one-out)."""
    router = _router(store)
    started = time.perf_counter()
    fitted = router.fit()
    console.print(f"{_fit_line(fitted)} [{time.perf_counter() - started:.1f} s]")


@app.command()
@_command
def repair(store: StoreOption = None):
    """Re-derive prompt summaries and model priors from the outcome records (after a crash; no other writer)."""
    router = _router(store)
    started = time.perf_counter()
    fixed = router.repair()
    console.print(
        f"repaired: {fixed} prompt summaries rewritten, priors of {len(router.models())} models rebuilt from "
        f"{router.store.count_outcomes()} outcomes [{time.perf_counter() - started:.1f} s]"
    )


@app.command()
@_command
def stats(store: StoreOption = None):
    """Counts of stored prompts and outcomes, each model's evidence, and the store's fit."""
    router = _router(store)
    console.print(f"prompts: {router.store.count_prompts()}  outcomes: {router.store.count_outcomes()}")
    console.print(_fit_line(router.store.registry().fit))
    table = Table("model", "n scored", "mean score", "n with usage", "mean cost")
    for name, prior in sorted(router.store.priors().items()):
        n, u = prior[sm.N_SCORED], prior[sm.N_USAGE]
        table.add_row(
            name,
            f"{int(n)}",
            f"{prior[sm.SCORE_SUM] / n:.3f}" if n else "-",
            f"{int(u)}",
            _money(prior[sm.COST_SUM] / u) if u else "-",
        )
    console.print(table)


def _split_names(value: str | None) -> list[str]:
    return [m.strip() for m in (value or "").split(",") if m.strip()]


@app.command("eval")
@_command
def evaluate(
    data: Annotated[Path, typer.Argument(help="data folder or long CSV/JSONL file")],
    train_frac: Annotated[float, typer.Option(help="share of prompts ingested")] = 0.5,
    seed: Annotated[int, typer.Option(help="shuffles the prompts")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the full report here")] = None,
    plot: Annotated[Path | None, typer.Option(help="write the cost-accuracy plot here (PNG)")] = None,
    estimator: EstimatorOption = "knn",
    holdout_models: Annotated[
        str | None, typer.Option(help="comma-separated models that keep train outcomes on anchors only")
    ] = None,
    anchors: Annotated[int, typer.Option(help="anchor prompts of the held-out models")] = 250,
    max_prompts: Annotated[int | None, typer.Option(help="evaluate on a random subset of this many prompts")] = None,
    k: Annotated[int, typer.Option("--k", help="neighbours per query")] = DEFAULT_K,
    quiet: Annotated[bool, typer.Option(help="no progress bars")] = False,
):
    """Split prompts, ingest the train part into a fresh store, route the test part over an alpha sweep."""
    from .evaluation import run_eval
    from .evaluation.tables import print_report

    report = run_eval(
        data,
        train_frac=train_frac,
        seed=seed,
        estimator=estimator,
        holdout_models=_split_names(holdout_models),
        anchors=anchors,
        max_prompts=max_prompts,
        k=k,
        progress=not quiet,
    )
    print_report(report, console)
    if json_out is not None:
        json_out.write_text(report.model_dump_json(indent=1))
        console.print(f"report written to {json_out}")
    if plot is not None:
        from .evaluation.plot import plot_report

        console.print(f"plot written to {plot_report(report, plot)}")


def _callable(spec: str):
    module, _, name = spec.partition(":")
    if not module or not name:
        raise _fail(f"expected module:function, got {spec!r}")
    sys.path.insert(0, str(Path.cwd()))
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise _fail(f"cannot load {spec!r}: {exc}") from None
    finally:
        sys.path.remove(str(Path.cwd()))


@app.command()
@_command
def profile(
    model: Annotated[str, typer.Option(help="name of the new model")],
    input_price: Annotated[float, typer.Option(help="USD per 1M input tokens")],
    output_price: Annotated[float, typer.Option(help="USD per 1M output tokens")],
    answer: Annotated[str, typer.Option(help="module:function answering a prompt")],
    grade: Annotated[str, typer.Option(help="module:function grading (prompt, answer) in [0, 1]")],
    anchors: Annotated[int, typer.Option(help="how many anchor prompts to run")] = 250,
    data: Annotated[
        Path | None, typer.Option(help="take anchors from this data set (default: the store's prompts)")
    ] = None,
    context_window: Annotated[int, typer.Option(help="tokens")] = 128_000,
    seed: int = 0,
    store: StoreOption = None,
    store_prompts: StorePromptsOption = True,
):
    """Record a new model's outcomes on anchor prompts so the router can place it."""
    from .profile import profile_model

    answer_fn, grade_fn = _callable(answer), _callable(grade)
    router = _router(store, store_prompts=store_prompts)
    prompts = [p.text for p in load_dataset(data).prompts] if data else list(router.store.prompt_texts().values())
    if not prompts:
        raise _fail("no prompts to profile on: the store keeps no prompt texts; pass --data")
    spec = ModelSpec(name=model, input_price=input_price, output_price=output_price, context_window=context_window)
    result = profile_model(router, spec, prompts, answer_fn, grade_fn, anchors=anchors, seed=seed, progress=True)
    table = Table("model", "prompts", "scored", "errors", "mean score", "total cost")
    mean = "-" if result.mean_score is None else f"{result.mean_score:.3f}"
    table.add_row(
        result.model, str(result.prompts), str(result.scored), str(result.errors), mean, _money(result.total_cost_usd)
    )
    console.print(table)


@app.command()
@_command
def demo(
    data: Annotated[Path | None, typer.Option(help="data folder (default ../shared/data/routerbench-3k)")] = None,
    store: StoreOption = None,
    n: Annotated[int | None, typer.Option(help="route only the first N test prompts")] = None,
    alpha: Annotated[float, typer.Option(help="the trade-off shown prompt by prompt")] = DEMO_ALPHA,
):
    """Ingest half of a data set, route the other half, compare with always using the best model."""
    from .evaluation.demo import run_demo

    path = data or DEMO_DATA
    if not path.exists():
        raise _fail(f"no data at {path}; pass --data PATH")
    run_demo(load_dataset(path), _router(store), console, n=n, alpha=alpha, alphas=DEMO_ALPHAS)
