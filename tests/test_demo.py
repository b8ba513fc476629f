"""`scope demo` as a new user runs it: on a store of its own, readable at 80 columns, money in dollars, no progress
bars in a log, and a line each on what alpha and the savings mean."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from scope_core import BehaviourStore
from scope_core.cli import app

from .test_cli import workdir  # noqa: F401  (the fixture: a long CSV of outcomes, cwd = tmp_path)

runner = CliRunner()


def test_the_demo_keeps_to_its_own_store_and_reads_well_at_80_columns(workdir, monkeypatch):  # noqa: F811
    monkeypatch.setenv("HOME", str(workdir))
    monkeypatch.setenv("SCOPE_STORE", str(workdir / "mine"))  # the user's own application's store
    monkeypatch.delenv("SCOPE_DEMO_STORE", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["demo", "--data", "outcomes.csv", "--n", "8"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"its own store at {workdir / '.scope' / 'demo'}" in " ".join(out.split())
    assert BehaviourStore.open(str(workdir / ".scope" / "demo")).models().keys() == {"small", "medium", "large"}
    assert not (workdir / "mine").exists(), "the user's default store is untouched"
    lines = out.splitlines()
    assert max(len(line) for line in lines if "/" not in line) <= 80  # a long path alone may overflow
    headers = [line for line in lines if line.startswith("┃")]
    assert headers and not any("…" in line for line in headers), headers  # no header is cut
    rows = [line for line in lines if line.startswith("│")]
    cells = [cell.strip() for row in rows for cell in row.split("│")[2:]]  # every column but the prompt
    assert not any("…" in cell for cell in cells), rows
    assert not re.search(r"\d[eE]-\d", out), "money in dollars, not scientific notation"
    assert "$0.0" in out and "%|" not in out and "it/s" not in out  # no progress bar updates off a terminal
    assert "alpha weighs accuracy against cost: 0 always takes the cheapest model" in " ".join(out.split())
    assert "vs best: the routed total cost as a share of always calling large" in " ".join(out.split())
