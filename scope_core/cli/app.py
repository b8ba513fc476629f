"""The ``scope`` app and what its commands share: the console, common options, one-line errors."""

from __future__ import annotations

import functools
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from scope_core.errors import ScopeError
from scope_core.estimators import DEFAULT_ESTIMATOR
from scope_core.validation import one_line as validation_line

if TYPE_CHECKING:
    from scope_core.routing.router import Router

app = typer.Typer(help="scope: route each LLM call to the model that best fits your cost-quality trade-off.")
console = Console()

StoreOption = Annotated[
    str | None, typer.Option("--store", help="store folder or http://host:port (default ~/.scope/store, $SCOPE_STORE)")
]
CAPABILITIES_HELP = "capabilities, comma-separated: tools, structured_output, vision"
EstimatorOption = Annotated[str, typer.Option("--estimator", help="estimator name (scope_core.estimators)")]
StorePromptsOption = Annotated[
    bool, typer.Option("--store-prompts/--no-store-prompts", help="keep prompt texts in the store (and its journal)")
]


def open_router(store: str | None, estimator: object = DEFAULT_ESTIMATOR, *, store_prompts: bool = True) -> Router:
    """A router on the store at ``store`` with the local embedder (its vectors cached on disk)."""
    from scope_core.routing.router import Router
    from scope_core.store.behaviour import BehaviourStore
    from scope_core.text.embedder import default_embedder

    return Router(
        BehaviourStore.open(store, store_prompts=store_prompts),
        estimator=estimator,
        embedder=default_embedder(disk_cache=True),
    )


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True, markup=True, highlight=False)
    return typer.Exit(code=1)


def one_line(exc: Exception) -> str:
    """An error as one line: a pydantic validation error as ``field: problem (got value)`` per field."""
    if isinstance(exc, ValidationError):
        return validation_line(exc)
    return " ".join(str(exc).split())


def command(func: Callable) -> Callable:
    """Report scope and input errors as one red line and exit code 1, without a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ScopeError, ValueError, LookupError) as exc:
            raise fail(one_line(exc)) from None

    return wrapper


def show_progress() -> bool:
    """Progress bars only on a terminal: a log file gets no stream of updates."""
    return sys.stderr.isatty()


def timed(work: Callable[[], object]) -> tuple[object, str]:
    """``work()``'s result and how long it took, as ``[1.2 s]``."""
    started = time.perf_counter()
    result = work()
    return result, f"[{time.perf_counter() - started:.1f} s]"


def load_attribute(spec: str):
    """``module:attribute``, imported from the current folder or the installed packages."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise fail(f"expected module:attribute, got {spec!r}")
    sys.path.insert(0, str(Path.cwd()))
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise fail(f"cannot load {spec!r}: {exc}") from None
    finally:
        sys.path.remove(str(Path.cwd()))


def looked_up_spec(name: str, registered: dict, typed: dict, model: object = None):
    """A model's spec from the typed flags, its registered spec, genai-prices and its profile (``spec_for``); an
    unknown price names the flags to pass."""
    from scope_core.profiling.lookup import UnknownModelPriceError, spec_for

    try:
        return spec_for(name, model_profile=getattr(model, "profile", None), registered=registered, **typed)
    except UnknownModelPriceError as exc:
        raise fail(
            f"no price known for model '{exc.model}' (not registered in the store, and genai-prices has none): "
            "pass --input-price and --output-price (USD per 1M tokens)"
        ) from None


def split_names(value: str | None) -> list[str]:
    return [m.strip() for m in (value or "").split(",") if m.strip()]


def fit_line(router: Router) -> str:
    """The router's estimator's fit on its store, in one line."""
    name = getattr(router.estimator, "fit_name", None)
    saved = router.store.registry().fits.get(name) if name else None
    if saved is None:
        return "fit: none (estimator defaults; run `scope fit` once the store holds a few hundred scored prompts)"
    return router.estimator.load_fit(saved).describe()
