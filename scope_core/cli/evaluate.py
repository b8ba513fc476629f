"""``scope eval``: a data set split, its train part ingested into a fresh store, its test part routed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scope_core.cli.app import EstimatorOption, StoreOption, app, command, console, fail, load_attribute, split_names
from scope_core.cli.eval_modes import evaluate_logged, evaluate_online
from scope_core.errors import InvalidInputError
from scope_core.estimators import DEFAULT_ESTIMATOR
from scope_core.routing.router import DEFAULT_K


@app.command("eval")
@command
def evaluate(
    data: Annotated[Path | None, typer.Argument(help="data folder or long CSV/JSONL file (not with --logged)")] = None,
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
    online: Annotated[bool, typer.Option("--online", help="the learning curve from the router's own traffic")] = False,
    logged: Annotated[
        bool, typer.Option("--logged", help="what other alphas would do on a store's logged traffic")
    ] = False,
    store: StoreOption = None,
    alpha: Annotated[
        list[float] | None, typer.Option("--alpha", help="stream (--online) or target (--logged) alphas")
    ] = None,
    warmup: Annotated[int, typer.Option(help="--online: prompts answered by every model first")] = 100,
    stream: Annotated[int, typer.Option(help="--online: prompts routed as live traffic")] = 1500,
    feedback: Annotated[float, typer.Option(help="--online: share of calls scored")] = 1.0,
    delay: Annotated[int, typer.Option(help="--online: calls before a score arrives")] = 0,
    explore: Annotated[float | None, typer.Option(help="--online: share of calls explored")] = None,
    since: Annotated[str | None, typer.Option(help="--logged: from when ('24h', a date...)")] = None,
):
    """Split prompts, ingest the train part into a fresh store, route the test part over an alpha sweep; with
    --online, the learning curve of a router fed its own traffic; with --logged, off-policy estimates of other
    alphas on a store's decision log."""
    from scope_core.evaluation import run_eval
    from scope_core.evaluation.tables import print_report

    if logged:
        return evaluate_logged(store, alpha or [0.3, 0.8], since, json_out)
    if data is None:
        raise fail("name a data folder or file (or --logged to evaluate a store's logged traffic)")
    if online:
        settings = {"warmup": warmup, "stream": stream, "feedback": feedback, "delay": delay, "explore": explore}
        return evaluate_online(data, alpha or [0.7], seed, estimator, settings, json_out, plot, not quiet)

    report = run_eval(
        data,
        train_frac=train_frac,
        seed=seed,
        estimator=_eval_estimator(estimator, estimator_llm, estimator_price, no_cot),
        holdout_models=split_names(holdout_models),
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
        from scope_core.evaluation.plot import plot_report

        console.print(f"plot written to {plot_report(report, plot)}")


def _eval_estimator(name: str, llm: str | None, price: str | None, no_cot: bool):
    """The estimator by name, with the LLM, prices and no-CoT the flags give (an estimator that takes no LLM
    refuses them, one that needs it says so)."""
    from scope_core.estimators import get_estimator

    options: dict[str, object] = {"no_cot": True} if no_cot else {}
    if price is not None:
        try:
            options["input_price"], options["output_price"] = (float(x) for x in price.split(","))
        except ValueError:
            raise fail(f"--estimator-price expects INPUT,OUTPUT USD per 1M tokens, got {price!r}") from None
    if llm is not None:
        if llm.startswith(("http://", "https://")):
            from scope_core.estimators.reasoning.openai_llm import openai_compatible_llm

            options["llm"] = openai_compatible_llm(llm, no_cot=no_cot)
        else:
            options["llm"] = load_attribute(llm)
    try:
        return get_estimator(name, **options)
    except InvalidInputError as exc:
        raise fail(
            f"{exc} (--estimator-llm gives llm, --estimator-price input_price/output_price, --no-cot no_cot)"
        ) from None
