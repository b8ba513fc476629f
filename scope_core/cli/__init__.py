"""The ``scope`` command line: ingest, inspect, route, repair, fit, evaluate, profile, demo."""

from scope_core.cli import dashboard, demo, evaluate, profile, report, route, store_commands  # noqa: F401  (they add their commands)
from scope_core.cli.app import app

__all__ = ["app"]

if __name__ == "__main__":
    app()
