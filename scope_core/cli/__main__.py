"""``python -m scope_core.cli``: the ``scope`` command."""

from scope_core.cli import app

app()
