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
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from . import summary as sm
from .data import load_dataset
from .embedder import default_embedder
from .errors import ScopeError
from .estimators import DEFAULT_ESTIMATOR
from .fit import StoreFit
from .money import usd
from .router import DEFAULT_K, Router
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


def _router(store: str | None, estimator: str = DEFAULT_ESTIMATOR, *, store_prompts: bool = True) -> Router:
    return Router(
        BehaviourStore.open(store, store_prompts=store_prompts),
        estimator=estimator,
        embedder=default_embedder(disk_cache=True),
    )


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True, markup=True, highlight=False)
    return typer.Exit(code=1)


def _one_line(exc: Exception) -> str:
    """An error as one line: a pydantic validation error as ``field: problem (got value)`` per field."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or exc.title}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()
        )
    return " ".join(str(exc).split())


def _command(func: Callable) -> Callable:
    """Report scope and input errors as one red line and exit code 1, without a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ScopeError, ValueError, LookupError) as exc:
            raise _fail(_one_line(exc)) from None

    return wrapper


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
    estimator: EstimatorOption = DEFAULT_ESTIMATOR,
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
            usd(e.cost_usd),
            "-" if utility is None else f"{utility:.4f}",
            status,
        )
    console.print(table)
    console.print(f"chosen: [bold]{decision.chosen}[/] ({decision.reason})")


def _fit_line(fit: StoreFit | None) -> str:
    if fit is None:
        return "fit: none (knn defaults; run `scope fit` once the store holds a few hundred scored prompts)"
    return (
        f"fit: {f'{len(fit.groups.names)} {fit.groups.source} groups' if fit.groups else 'global prior'}, "
        f"{len(fit.members)} settings averaged (best: temperature {fit.temperature:g}, prior strength "
        f"{fit.prior_strength:g}), calibrated; held-out log loss "
        f"{fit.log_loss:.4f} (defaults {fit.log_loss_default:.4f}) on {fit.n_pairs} outcomes of {fit.n_queries} prompts"
        f"; imputed scores count {fit.imputed_weight:g}"
        + (
            f"; knn-features: log loss {fit.features.log_loss:.4f} (without features {fit.features.log_loss_without:.4f})"
            if fit.features
            else ""
        )
    )


def _timed(work: Callable[[], object]) -> tuple[object, str]:
    """``work()``'s result and how long it took, as ``[1.2 s]``."""
    started = time.perf_counter()
    result = work()
    return result, f"[{time.perf_counter() - started:.1f} s]"


@app.command()
@_command
def fit(store: StoreOption = None):
    """Refit the estimator settings and calibration on the store's own outcomes (leave-one-out)."""
    fitted, took = _timed(_router(store).fit)
    console.print(f"{_fit_line(fitted)} {took}")


@app.command()
@_command
def repair(store: StoreOption = None):
    """Re-derive prompt summaries and model priors from the outcome records (after a crash; no other writer)."""
    router = _router(store)
    fixed, took = _timed(router.repair)
    console.print(
        f"repaired: {fixed} prompt summaries rewritten, priors of {len(router.models())} models rebuilt from "
        f"{router.store.count_outcomes()} outcomes {took}"
    )


@app.command()
@_command
def stats(store: StoreOption = None):
    """Counts of stored prompts and outcomes, each model's evidence coverage, and the store's fit."""
    from .coverage import evidence_coverage

    router = _router(store)
    console.print(f"prompts: {router.store.count_prompts()}  outcomes: {router.store.count_outcomes()}")
    console.print(_fit_line(router.store.registry().fit))
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
    estimator: EstimatorOption = DEFAULT_ESTIMATOR,
    holdout_models: Annotated[
        str | None, typer.Option(help="comma-separated models that keep train outcomes on anchors only")
    ] = None,
    anchors: Annotated[int, typer.Option(help="anchor prompts of the held-out models")] = 250,
    max_prompts: Annotated[int | None, typer.Option(help="evaluate on a random subset of this many prompts")] = None,
    k: Annotated[int, typer.Option("--k", help="neighbours per query")] = DEFAULT_K,
    fast: Annotated[
        bool, typer.Option(help="search neighbours in an exact in-memory index of the store, not Chroma")
    ] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bars")] = False,
    estimator_llm: Annotated[
        str | None,
        typer.Option(
            help="LLM of --estimator reasoning: URL#MODEL of an OpenAI-compatible server (needs langchain-openai), "
            "or module:attribute (a chat model or a callable prompt -> str)"
        ),
    ] = None,
    estimator_price: Annotated[
        str | None, typer.Option(help="the estimator LLM's USD per 1M input,output tokens, e.g. 0.05,0.2")
    ] = None,
    no_cot: Annotated[
        bool, typer.Option("--no-cot", help="estimator LLM gives its final line only (SCOPE_NoCoT)")
    ] = False,
):
    """Split prompts, ingest the train part into a fresh store, route the test part over an alpha sweep."""
    from .evaluation import run_eval
    from .evaluation.tables import print_report

    report = run_eval(
        data,
        train_frac=train_frac,
        seed=seed,
        estimator=_eval_estimator(estimator, estimator_llm, estimator_price, no_cot),
        holdout_models=_split_names(holdout_models),
        anchors=anchors,
        max_prompts=max_prompts,
        k=k,
        fast=fast,
        progress=not quiet,
    )
    print_report(report, console)
    if json_out is not None:
        json_out.write_text(report.model_dump_json(indent=1))
        console.print(f"report written to {json_out}")
    if plot is not None:
        from .evaluation.plot import plot_report

        console.print(f"plot written to {plot_report(report, plot)}")


def _eval_estimator(name: str, llm: str | None, price: str | None, no_cot: bool):
    """The eval's estimator: its name, or for an LLM estimator a function of the eval's store building it."""
    from .estimators import LLM_ESTIMATORS, get_estimator

    if name not in LLM_ESTIMATORS:
        if llm is not None:
            raise _fail(
                f"--estimator-llm is used by an LLM estimator ({', '.join(sorted(LLM_ESTIMATORS))}), not '{name}'"
            )
        return name
    if llm is None:
        raise _fail(f"--estimator {name} needs --estimator-llm URL#MODEL (or module:attribute)")
    try:
        prices = [float(x) for x in (price or "0,0").split(",")]
    except ValueError:
        prices = []
    if len(prices) != 2:
        raise _fail(f"--estimator-price expects INPUT,OUTPUT USD per 1M tokens, got {price!r}")
    if llm.startswith(("http://", "https://")):
        from .estimators.reasoning_openai import openai_compatible_llm

        model = openai_compatible_llm(llm, no_cot=no_cot)
    else:
        model = _callable(llm)
    options = {"llm": model, "no_cot": no_cot, "input_price": prices[0], "output_price": prices[1]}
    return lambda store: get_estimator(name, store=store, **options)


def _callable(spec: str):
    module, _, name = spec.partition(":")
    if not module or not name:
        raise _fail(f"expected module:attribute, got {spec!r}")
    sys.path.insert(0, str(Path.cwd()))
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise _fail(f"cannot load {spec!r}: {exc}") from None
    finally:
        sys.path.remove(str(Path.cwd()))


def _profile_targets(models: list[str], answer: str | None, typed: dict) -> list[tuple[object, object]]:
    """(spec, model) pairs: ``--answer`` named by ``--model`` (or its own model name), else each ``--model``."""
    from .profile_answer import chat_model
    from .spec_lookup import model_name, spec_for

    if answer is not None:
        target = _callable(answer)
        name = models[0] if models else model_name(target)
        if not name or len(models) > 1:
            raise _fail("with --answer, name the model once: --model NAME")
        return [(spec_for(name, profile=getattr(target, "profile", None), **typed), target)]
    if not models:
        raise _fail("nothing to profile: pass --model provider:name (LangChain) or --answer module:attribute")
    pairs = []
    for ref in models:
        target = chat_model(ref)
        pairs.append((spec_for(ref, profile=getattr(target, "profile", None), **typed), target))
    return pairs


@app.command()
@_command
def profile(
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="provider:name of a LangChain chat model (init_chat_model), repeatable; with --answer, its name"
        ),
    ] = None,
    answer: Annotated[
        str | None,
        typer.Option(
            help="module:attribute of a LangChain chat model, a LlamaIndex LLM or a prompt -> answer callable"
        ),
    ] = None,
    input_price: Annotated[float | None, typer.Option(help="USD per 1M input tokens (default: genai-prices)")] = None,
    output_price: Annotated[float | None, typer.Option(help="USD per 1M output tokens (default: genai-prices)")] = None,
    context_window: Annotated[int | None, typer.Option(help="tokens (default: looked up)")] = None,
    grade: Annotated[
        str | None,
        typer.Option(help="module:function grading (reply, gold) in [0, 1] (default: multiple-choice letter)"),
    ] = None,
    anchors: Annotated[
        int | None, typer.Option(help="ask only the first N shipped anchors (they cover subjects evenly)")
    ] = None,
    anchors_file: Annotated[
        Path | None, typer.Option(help="your own anchors: JSONL of {prompt, gold} (asked as they are)")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="answers in flight at once")] = 8,
    max_cost: Annotated[float | None, typer.Option(help="USD: start no answer past this total spend")] = None,
    dry_run: Annotated[bool, typer.Option(help="print the cost estimate and stop")] = False,
    store: StoreOption = None,
    store_prompts: StorePromptsOption = True,
):
    """Ask models the graded anchor questions, record their outcomes, and fit, so the router can place them.

    Resumable: anchors a model already answered are skipped. The cost estimate is printed first.
    """
    from .anchors import MULTIPLE_CHOICE_INSTRUCTION, load_anchors, shipped_anchors
    from .graders import multiple_choice
    from .profile import estimate_cost, profile_model

    typed = {
        k: v
        for k, v in {"input_price": input_price, "output_price": output_price, "context_window": context_window}.items()
        if v is not None
    }
    pairs = _profile_targets(model or [], answer, typed)
    chosen = load_anchors(anchors_file)[:anchors] if anchors_file else shipped_anchors(anchors)
    instruction = "" if anchors_file else MULTIPLE_CHOICE_INSTRUCTION
    grader = _callable(grade) if grade else multiple_choice
    router = _router(store, store_prompts=store_prompts)
    table = Table("model", "to answer", "done before", "est. input tokens", "est. output tokens", "est. cost")
    for spec, _ in pairs:
        e = estimate_cost(router, spec, chosen, instruction=instruction)
        table.add_row(
            e.model, str(e.anchors), str(e.done), f"{e.input_tokens:,}", f"{e.output_tokens:,}", usd(e.cost_usd)
        )
    console.print(table)
    if dry_run:
        return
    results, spent = [], 0.0
    for spec, target in pairs:
        left = None if max_cost is None else max_cost - spent
        if left is not None and left <= 0:
            break
        kwargs = {"grader": grader, "instruction": instruction, "concurrency": concurrency, "max_cost": left}
        results.append(profile_model(router, spec, target, chosen, progress=True, **kwargs))
        spent += results[-1].total_cost_usd
    table = Table("model", "answered", "skipped", "scored", "errors", "mean score", "cost", "time")
    for r in results:
        mean = "-" if r.mean_score is None else f"{r.mean_score:.3f}"
        table.add_row(
            r.model, str(r.answered), str(r.skipped), str(r.scored), str(r.errors), mean, usd(r.total_cost_usd),
            f"{r.elapsed_s:.1f} s",
        )  # fmt: skip
    console.print(table)
    if max_cost is not None and (len(results) < len(pairs) or any(r.stopped_at_max_cost for r in results)):
        console.print(f"stopped at --max-cost {usd(max_cost)}; run the same command again to resume")


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


if __name__ == "__main__":
    app()
