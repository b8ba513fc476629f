"""The ``scope`` command line: ingest, models, inspect, route, repair, fit, evaluate, profile, demo."""

from scope_core.cli import (  # noqa: F401  (they add their commands)
    dashboard,
    demo,
    evaluate,
    models,
    profile,
    report,
    route,
    store_commands,
)
from scope_core.cli.app import app

__all__ = ["app"]
