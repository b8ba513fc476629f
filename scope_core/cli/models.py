"""``scope models``: list the registered models, add (or update) one, remove mistyped or left-over ones."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Column, Table

from scope_core.cli.app import (
    CAPABILITIES_HELP,
    StoreOption,
    app,
    command,
    console,
    fail,
    looked_up_spec,
    open_router,
    split_names,
)
from scope_core.money import usd
from scope_core.store import summary as sm

models_app = typer.Typer(help="The registered models: list (the default), add or update, remove.")
app.add_typer(models_app, name="models")


def _list(store: str | None) -> None:
    router = open_router(store)
    priors = router.store.priors()
    table = Table(
        Column("model", overflow="fold"),
        *(Column(h, no_wrap=True) for h in ("in $/M", "out $/M", "context", "scored")),
        Column("capabilities", min_width=len("structured_output")),
        caption="prices in USD per 1M tokens; scored: outcomes with a score (`scope stats` for more)",
    )
    for name, spec in sorted(router.models().items()):
        table.add_row(
            name,
            f"{spec.input_price:g}",
            f"{spec.output_price:g}",
            f"{spec.context_window // 1000:,}k" if spec.context_window >= 1000 else str(spec.context_window),
            f"{int((priors.get(name) or sm.empty())[sm.N_SCORED])}",
            " ".join(sorted(c.value for c in spec.capabilities)) or "-",
        )
    console.print(table)


@models_app.callback(invoke_without_command=True)
@command
def models(ctx: typer.Context, store: StoreOption = None):
    """List the registered models with their prices and capabilities (as `scope models list`)."""
    if ctx.invoked_subcommand is None:
        _list(store)


@models_app.command("list")
@command
def list_models(store: StoreOption = None):
    """List the registered models with their prices and capabilities."""
    _list(store)


@models_app.command()
@command
def add(
    name: Annotated[str, typer.Argument(help="the model's name (provider:name looks its price up by provider)")],
    input_price: Annotated[float | None, typer.Option(help="USD per 1M input tokens (default: registered, else genai-prices)")] = None,
    output_price: Annotated[float | None, typer.Option(help="USD per 1M output tokens (default: registered, else genai-prices)")] = None,
    context_window: Annotated[int | None, typer.Option(help="tokens")] = None,
    capabilities: Annotated[str | None, typer.Option(help=f"what it can do: {CAPABILITIES_HELP}")] = None,
    store: StoreOption = None,
):  # fmt: skip
    """Register a model, or update a registered one (what is not given is kept, else looked up)."""
    router = open_router(store)
    typed = {"input_price": input_price, "output_price": output_price, "context_window": context_window}
    typed = {k: v for k, v in typed.items() if v is not None}
    if capabilities is not None:
        typed["capabilities"] = frozenset(split_names(capabilities))
    spec = looked_up_spec(name, router.models(), typed)
    router.register_model(spec)
    caps = ", ".join(sorted(c.value for c in spec.capabilities)) or "none declared"
    console.print(
        f"registered {spec.name}: {usd(spec.input_price)} / {usd(spec.output_price)} per 1M input / output tokens, "
        f"context {spec.context_window:,}, capabilities: {caps}",
        soft_wrap=True,
        highlight=False,
    )


@models_app.command()
@command
def remove(
    names: Annotated[list[str], typer.Argument(help="the models to remove")],
    keep_outcomes: Annotated[
        bool, typer.Option("--keep-outcomes", help="only unregister: keep their outcome records in the store")
    ] = False,
    store: StoreOption = None,
):
    """Remove models: unregistered, their outcome records deleted (unless --keep-outcomes), priors rebuilt, refitted.

    Run it while no other process writes to the store."""
    from scope_core.store.removal import remove_models

    router = open_router(store)
    if not names:
        raise fail("name the models to remove")
    deleted = remove_models(router.store, names, keep_outcomes=keep_outcomes)
    router.view.invalidate()
    if deleted:
        router.fit()
    console.print(f"removed {', '.join(names)} ({deleted} outcome records deleted)", highlight=False)
