"""Estimators by name: each module of ``scope_core.estimators`` registers its own (``@register_estimator``).

A new estimator is one new module in this package: the first lookup of a name imports every module here, so
its registration runs; nothing else names it.
"""

from __future__ import annotations

import inspect
import pkgutil
from collections.abc import Callable
from importlib import import_module
from typing import Any, TypeVar

from scope_core.errors import InvalidInputError

F = TypeVar("F", bound=Callable[..., Any])
_FACTORIES: dict[str, Callable[..., Any]] = {}
_PACKAGE = "scope_core.estimators"
_discovered = False


def register_estimator(name: str) -> Callable[[F], F]:
    """Register a factory (a class or a function returning an estimator) under ``name``."""

    def register(factory: F) -> F:
        if _FACTORIES.get(name, factory) is not factory:
            raise ValueError(f"estimator name '{name}' is taken")
        _FACTORIES[name] = factory
        return factory

    return register


def _discover() -> None:
    """Import every module of the estimators package once, so each registers its estimators."""
    global _discovered
    if _discovered:
        return
    package = import_module(_PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        import_module(f"{_PACKAGE}.{module.name}")
    _discovered = True


def estimator_names() -> list[str]:
    """Every registered estimator name."""
    _discover()
    return sorted(_FACTORIES)


def get_estimator(name: str, **options: Any) -> Any:
    """A fresh estimator by name, built with ``options`` (those given as None are left out). An unknown name,
    or an option the estimator does not take, raises InvalidInputError naming it."""
    if name not in _FACTORIES:
        _discover()
    factory = _FACTORIES.get(name)
    if factory is None:
        raise InvalidInputError(f"unknown estimator '{name}'; choose one of {estimator_names()}")
    given = {k: v for k, v in options.items() if v is not None}
    parameters = inspect.signature(factory).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    extra = sorted(k for k in given if k not in parameters and not takes_any)
    if extra:
        raise InvalidInputError(f"the '{name}' estimator takes no {', '.join(extra)}")
    needed = [
        p.name
        for p in parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in given
    ]
    if needed:
        raise InvalidInputError(f"the '{name}' estimator needs {', '.join(needed)}=")
    return factory(**given)
