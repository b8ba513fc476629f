"""`scope profile` as a new user meets it: a dry run needs no key, errors are one line and shown, a bad run can be
redone, registered prices are used, flags are named as flags, and the anchors' wrapper is said."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import scope_core.text.embedder
from scope_core.cli import app
from scope_core.profiling.anchors import MULTIPLE_CHOICE_INSTRUCTION

runner = CliRunner()

FAKES = """
from scope_core.profiling.anchors import MULTIPLE_CHOICE_INSTRUCTION, shipped_anchors

GOLD = {a.prompt: a.gold for a in shipped_anchors()}


def naive(prompt):
    # a user's first fake: looks the prompt up as it is, so the appended instruction makes it miss
    return f"The answer is ({GOLD.get(prompt, 'Z')})"


def fixed(prompt):
    return f"The answer is ({GOLD[prompt.removesuffix(MULTIPLE_CHOICE_INSTRUCTION)]})"


def broken(prompt):
    raise PermissionError("Error code: 401 - Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwxyz123456")
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setattr(scope_core.text.embedder, "DEFAULT_CACHE_DIR", tmp_path / "cache")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / "fakes.py").write_text(FAKES)
    return tmp_path


def scope(*args: object, code: int = 0) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


def _row(out: str, model: str) -> list[str]:
    line = [line for line in out.splitlines() if line.startswith(f"│ {model}")][-1]
    return [c.strip() for c in line.split("│")[2:-1]]


def test_a_dry_run_needs_no_key_and_says_how_anchors_are_asked(workdir):
    out = scope("profile", "--model", "openai:gpt-4o-mini", "--dry-run", "--anchors", "5", "--store", workdir / "s")
    assert "gpt-4o-mini" in out and "$" in out
    assert MULTIPLE_CHOICE_INSTRUCTION.strip() in " ".join(out.split())
    real = scope("profile", "--model", "openai:gpt-4o-mini", "--anchors", "5", "--store", workdir / "s", code=1)
    assert len(real.strip().splitlines()) == 1 and "cannot create 'openai:gpt-4o-mini'" in real, real
    assert "Traceback" not in real


def test_failures_are_shown_scrubbed(workdir):
    out = scope(
        "profile", "--answer", "fakes:broken", "--model", "mathbot", "--input-price", "1", "--output-price", "2",
        "--anchors", "3", "--store", workdir / "s",
    )  # fmt: skip
    assert _row(out, "mathbot")[3] == "3"  # errors
    shown = [line for line in out.splitlines() if line.startswith("mathbot failed:")]
    assert len(shown) == 1 and "PermissionError: Error code: 401" in shown[0]
    assert "abcdefghijklmnop" not in out


def test_a_bad_run_can_be_redone_and_registered_prices_are_used(workdir):
    store = workdir / "s"
    base = ["profile", "--model", "mathbot", "--anchors", "4", "--store", store]
    missing = scope(*base, "--answer", "fakes:naive", code=1)
    assert "pass --input-price and --output-price" in missing and "input_price=" not in missing
    first = scope(*base, "--answer", "fakes:naive", "--input-price", "1", "--output-price", "2")
    assert _row(first, "mathbot")[:5] == ["4", "0", "4", "0", "0.000"]  # answered, skipped, scored, errors, mean
    again = scope(*base, "--answer", "fakes:fixed")  # registered now: its prices are used
    assert _row(again, "mathbot")[:2] == ["0", "4"]  # answered anchors are skipped ...
    redone = scope(*base, "--answer", "fakes:fixed", "--redo")
    assert _row(redone, "mathbot")[:5] == ["4", "0", "4", "0", "1.000"]  # ... unless redone
    stats = scope("stats", "--store", store)
    assert _row(stats, "mathbot")[:4] == ["4", "4", "0", "1.000"]  # the redo replaced the old answers
