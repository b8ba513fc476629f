"""The ``scope`` command line on a small long-format CSV, with a store in a temporary folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import scope_core.text.embedder
from scope_core import BehaviourStore
from scope_core.cli import app
from scope_core.evaluation import EvalReport

runner = CliRunner()
PRICES = {"small": (0.1, 0.2), "medium": (1.0, 2.0), "large": (10.0, 30.0)}
MATH_QUERY = "Compute the integral of x^40 times sin(x) from 0 to pi"

SOLVER = """
from scope_core.profiling.anchors import MULTIPLE_CHOICE_INSTRUCTION, shipped_anchors

GOLD = {a.prompt: a for a in shipped_anchors()}


def answer(prompt):
    anchor = GOLD[prompt.removesuffix(MULTIPLE_CHOICE_INSTRUCTION)]
    letter = anchor.gold if anchor.subject in ("biology", "chemistry") else "Z"
    return {"text": f"The answer is ({letter})", "input_tokens": 30, "output_tokens": 4}


def lenient(reply, gold):
    return 1.0
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A long CSV of outcomes (math: only 'large' always right; greetings: all right), cwd = tmp_path."""
    monkeypatch.setattr(scope_core.text.embedder, "DEFAULT_CACHE_DIR", tmp_path / "cache")
    monkeypatch.chdir(tmp_path)
    rows = []
    for i in range(12):
        for kind, text in (
            ("math", f"Compute the integral of x^{i + 2} times sin(x) from 0 to pi"),
            ("greet", f"Say hello to my friend number {i + 2} in a cheerful tone"),
        ):
            for model, (pin, pout) in PRICES.items():
                right = kind == "greet" or model == "large" or (model == "medium" and i % 2 == 0)
                cost = (20 * pin + 50 * pout) / 1e6
                rows.append(
                    {"prompt": text, "task": kind, "model": model, "score": int(right), "input_tokens": 20,
                     "output_tokens": 50, "cost_usd": cost}
                )  # fmt: skip
    with open(tmp_path / "outcomes.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "solver.py").write_text(SOLVER)
    return tmp_path


def scope(*args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_ingest_models_stats_route(workdir):
    store = workdir / "store"
    assert "24 prompts, 72 outcomes (72 new or changed), 3 models" in scope("ingest", "outcomes.csv", "--store", store)
    assert "(0 new or changed)" in scope("ingest", "outcomes.csv", "--store", store)
    listing = scope("models", "--store", store)
    assert all(m in listing for m in PRICES)
    stats = scope("stats", "--store", store)
    assert "prompts: 24  outcomes: 72" in stats
    assert "knn defaults" in stats and "knn defaults" in scope("fit", "--store", store)  # 24 prompts: too few to fit
    mean_score = {
        m: next(line for line in stats.splitlines() if f" {m} " in line).split("│")[5].strip() for m in PRICES
    }
    assert mean_score == {"small": "0.500", "medium": "0.750", "large": "1.000"}
    assert "chosen: large" in scope("route", MATH_QUERY, "--store", store, "--alpha", "1")
    assert "chosen: small" in scope("route", MATH_QUERY, "--store", store, "--alpha", "0")
    summary = json.loads(scope("route", MATH_QUERY, "--store", store, "--min-accuracy", "0.9", "--json"))
    assert summary["chosen"] == "large" and set(summary["candidates"]) == set(PRICES)


def test_ingest_without_prompt_texts_keeps_prices_and_repair_rebuilds(workdir):
    store = workdir / "private"
    scope("ingest", "outcomes.csv", "--store", store, "--no-store-prompts")
    opened = BehaviourStore.open(str(store))
    assert opened.count_prompts() == 24 and opened.prompt_texts() == {}
    registered = opened.models()["large"]
    assert registered.output_price > 0
    (workdir / "free.csv").write_text("prompt,model,score\nA prompt with no costs,large,1\n")
    scope("ingest", "free.csv", "--store", store)
    assert opened.models()["large"] == registered, "fitted $0 prices never replace registered ones"
    scope("ingest", "free.csv", "--store", store, "--update-prices")
    assert opened.models()["large"] == registered, "a data set priced nowhere has no prices to update with"
    repaired = " ".join(scope("repair", "--store", store).split())
    assert "repaired: 0 prompt summaries rewritten, priors of 3 models rebuilt from 73 outcomes" in repaired


def test_route_on_an_empty_store_fails_cleanly(workdir):
    result = runner.invoke(app, ["route", "hello", "--store", str(workdir / "empty")])
    assert result.exit_code == 1 and "no models registered" in result.output


def test_eval_writes_report_and_plot(workdir):
    out = scope("eval", "outcomes.csv", "--json", "r.json", "--plot", "r.png", "--quiet")
    assert "AIQ" in out and "oracle" in out
    report = EvalReport.model_validate_json((workdir / "r.json").read_text())
    assert report.n_test == 12 and report.estimator == "knn-features"
    assert (workdir / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_with_held_out_model_and_bad_names(workdir):
    scope("eval", "outcomes.csv", "--holdout-models", "large", "--anchors", "3", "--json", "h.json", "--quiet")
    report = json.loads((workdir / "h.json").read_text())
    assert report["holdout_models"] == ["large"] and report["anchors"] == 3
    bad = runner.invoke(app, ["eval", "outcomes.csv", "--holdout-models", "nope", "--quiet"])
    assert bad.exit_code == 1 and "unknown held-out" in bad.output
    bad = runner.invoke(app, ["eval", "outcomes.csv", "--estimator", "nope", "--quiet"])
    assert bad.exit_code == 1 and "unknown estimator" in bad.output


def test_profile_on_the_shipped_anchors_estimates_records_and_resumes(workdir):
    store = workdir / "store"
    base = ["profile", "--model", "solver", "--input-price", "1", "--output-price", "2", "--answer", "solver:answer"]
    dry = scope(*base, "--anchors", "6", "--store", store, "--dry-run")
    assert "est. cost" in dry and "solver" in dry and "│ 6 " in dry
    out = scope(*base, "--anchors", "4", "--store", store)
    row = [line for line in out.splitlines() if line.startswith("│ solver")][-1]  # the results table
    assert [c.strip() for c in row.split("│")[2:7]] == ["4", "0", "4", "0", "0.500"]  # biology, chemistry of 4
    out = scope(*base, "--anchors", "6", "--store", store, "--max-cost", "1e-9")
    assert "stopped at --max-cost $0.00000000100; run the same command again to resume" in out
    out = scope(*base, "--anchors", "6", "--store", store)
    row = [line for line in out.splitlines() if line.startswith("│ solver")][-1]
    assert [c.strip() for c in row.split("│")[2:5]] == ["2", "4", "2"]  # answered, skipped, scored
    stats = scope("stats", "--store", store)
    assert "outcomes" in stats and "errors" in stats
    lenient = scope(*base[:-1], "solver:answer", "--grade", "solver:lenient", "--anchors", "3", "--store",
                    workdir / "other")  # fmt: skip
    assert "1.000" in lenient


def test_profile_errors_are_one_line(workdir):
    store = str(workdir / "store")
    cases = {
        ("--answer", "solver:missing", "--model", "x", "--input-price", "1", "--output-price", "1"): "cannot load",
        ("--answer", "solver:answer", "--model", "my-own"): "pass --input-price and --output-price",
        ("--model", "nosuchprovider:some-model"): "nosuchprovider",
        (): "nothing to profile",
    }
    for args, message in cases.items():
        result = runner.invoke(app, ["profile", *args, "--store", store])
        assert result.exit_code == 1 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_stats_show_each_models_evidence_coverage_and_cold_starts(workdir):
    store = workdir / "store"
    scope("ingest", "outcomes.csv", "--store", store)
    scope(
        "profile", "--model", "solver", "--input-price", "0", "--output-price", "0", "--answer", "solver:answer",
        "--anchors", "2", "--store", store, "--dry-run",
    )  # fmt: skip
    stats = scope("stats", "--store", store)
    row = next(line for line in stats.splitlines() if line.startswith("│ large"))
    assert [c.strip() for c in row.split("│")[2:5]] == ["24", "24", "0"]  # outcomes, scored, errors
    assert "cold start" not in stats


def test_bad_option_values_give_one_line_errors(workdir):
    store = workdir / "store"
    scope("ingest", "outcomes.csv", "--store", store)
    result = runner.invoke(app, ["route", MATH_QUERY, "--store", str(store), "--alpha", "2"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
    assert "alpha: must be less than or equal to 1 (got 2.0)" in result.output
    assert "pydantic" not in result.output


def test_demo_on_a_small_data_set(workdir):
    out = scope("demo", "--data", "outcomes.csv", "--store", workdir / "demo-store", "--n", "8")
    assert "decisions at alpha=0.9" in out and "always large" in out
    assert all(f"alpha={a}" in out for a in ("0.5", "0.9", "0.99"))
