"""The ``scope`` command line: ingest, models, inspect, route, repair, fit, evaluate, profile, demo."""

from scope_core.cli import demo, evaluate, models, profile, route, store_commands  # noqa: F401  (they add commands)
from scope_core.cli.app import app

__all__ = ["app"]
