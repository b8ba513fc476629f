"""``scope route``: each model's estimate for a prompt and the model the options choose."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scope_core.cli.app import (
    CAPABILITIES_HELP,
    EstimatorOption,
    StoreOption,
    app,
    command,
    console,
    fail,
    open_router,
    split_names,
)
from scope_core.estimators import DEFAULT_ESTIMATOR
from scope_core.money import usd


def _parse_options(pairs: list[str]) -> dict[str, object]:
    """``--option KEY=VALUE`` pairs; each value is read as JSON where it parses (numbers, lists), else as text."""
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"--option expects KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _prompt(text: str | None, file: Path | None) -> str:
    """The prompt: the argument, standard input for ``-``, or ``--file`` (any length: no argument list limit)."""
    if (text is None) == (file is None):
        raise fail("give the prompt as an argument, as - to read standard input, or with --file PATH (one of them)")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"cannot read --file {file}: {exc}") from None
    return sys.stdin.read() if text == "-" else text


@app.command()
@command
def route(
    text: Annotated[str | None, typer.Argument(help="the prompt; - reads it from standard input")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="read the prompt from this file (UTF-8)")] = None,
    store: StoreOption = None,
    alpha: Annotated[float | None, typer.Option(help="0 = cheapest, 1 = most accurate")] = None,
    cost_share: Annotated[
        float | None, typer.Option(help="spend about this share of always calling the dearest model (sets alpha)")
    ] = None,
    max_cost: Annotated[float | None, typer.Option(help="USD cap on the predicted call cost")] = None,
    min_accuracy: Annotated[float | None, typer.Option(help="cheapest model predicted to reach it")] = None,
    allowed: Annotated[str | None, typer.Option(help="only these models, comma-separated")] = None,
    required: Annotated[str | None, typer.Option(help=f"what the call needs: {CAPABILITIES_HELP}")] = None,
    model: Annotated[str | None, typer.Option(help="force this model (its estimate is still shown)")] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="any other routing option, KEY=VALUE (repeatable)")
    ] = None,
    estimator: EstimatorOption = DEFAULT_ESTIMATOR,
    as_json: Annotated[bool, typer.Option("--json", help="print the decision summary as JSON")] = False,
):
    """Show each model's estimate for a prompt and the model the options choose."""
    prompt = _prompt(text, file)
    router = open_router(store, estimator)
    given = {
        "alpha": alpha,
        "cost_share": cost_share,
        "max_cost": max_cost,
        "min_accuracy": min_accuracy,
        "allowed": split_names(allowed) if allowed is not None else None,
        "required": split_names(required) if required is not None else None,
        "model": model,
        **_parse_options(option or []),
    }
    decision = router.route(prompt, **{k: v for k, v in given.items() if v is not None})
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
