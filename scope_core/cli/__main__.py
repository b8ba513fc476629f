"""``python -m scope_core.cli``: the ``scope`` command without the installed script."""

from scope_core.cli import app

app()
