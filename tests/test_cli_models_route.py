"""`scope route` takes a prompt of any length (stdin, --file) and restricts the models; `scope models` lists, adds and
removes models, and a removed model is gone from `scope stats` too."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scope_core import BehaviourStore
from scope_core.cli import app

from .test_cli import MATH_QUERY, workdir  # noqa: F401  (the fixture: a long CSV of outcomes, cwd = tmp_path)

runner = CliRunner()


def scope(*args: object, code: int = 0, input: str | None = None) -> str:
    result = runner.invoke(app, [str(a) for a in args], input=input)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def store(workdir):  # noqa: F811
    path = workdir / "store"
    scope("ingest", "outcomes.csv", "--store", path)
    return path


def _chosen(out: str) -> str:
    return json.loads(out)["chosen"]


def test_a_two_megabyte_prompt_routes_from_stdin_or_a_file(store, workdir):  # noqa: F811
    scope("models", "add", "large", "--context-window", "1000000", "--store", store)  # room for 450k tokens
    long = "Some context. " * 150_000 + MATH_QUERY
    assert len(long) > 2_000_000
    assert _chosen(scope("route", "-", "--store", store, "--json", "--alpha", "1", input=long)) == "large"
    (workdir / "prompt.txt").write_text(long)
    assert _chosen(scope("route", "--file", "prompt.txt", "--store", store, "--json", "--alpha", "1")) == "large"
    both = scope("route", "hi", "--file", "prompt.txt", "--store", store, code=1)
    assert "one of them" in both and len(both.strip().splitlines()) == 1


def test_route_restricts_the_models(store):
    out = scope("route", MATH_QUERY, "--store", store, "--json", "--alpha", "1", "--allowed", "small,medium")
    assert _chosen(out) == "medium"
    assert _chosen(scope("route", MATH_QUERY, "--store", store, "--json", "--model", "small")) == "small"
    lacking = scope("route", MATH_QUERY, "--store", store, "--required", "tools", code=1)
    assert "lacks tools" in lacking and "scope models add NAME --capabilities tools" in lacking
    scope("models", "add", "medium", "--capabilities", "tools", "--store", store)
    assert _chosen(scope("route", MATH_QUERY, "--store", store, "--json", "--required", "tools")) == "medium"


def test_models_list_add_and_remove(store):
    assert "large" in scope("models", "--store", store) and "large" in scope("models", "list", "--store", store)
    scope("models", "add", "gpt-4o-mini", "--store", store)  # priced by genai-prices, capabilities by models.dev
    listed = scope("models", "list", "--store", store)
    assert "gpt-4o-mini" in listed and "0.15" in listed and "tools" in listed
    unknown = scope("models", "add", "mathbot", "--store", store, code=1)
    assert "pass --input-price and --output-price" in unknown
    out = scope("models", "remove", "small", "--store", store)
    assert "removed small (24 outcome records deleted)" in out
    assert "small" not in scope("models", "--store", store) and "│ small" not in scope("stats", "--store", store)
    opened = BehaviourStore.open(str(store))
    assert opened.count_outcomes() == 48 and "small" not in opened.priors()
    assert "unknown model(s) ['nope']" in scope("models", "remove", "nope", "--store", store, code=1)
