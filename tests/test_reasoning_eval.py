"""``scope eval --estimator reasoning``: the estimator's own cost in the totals, through run_eval and the
CLI (an OpenAI-compatible stand-in server reached through langchain-openai), and its clear errors."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from scope_core.cli import app
from scope_core.estimators import ReasoningEstimator
from scope_core.estimators.reasoning.local import StandInServer, heuristic_reply
from scope_core.evaluation import EvalReport, run_eval

from .test_cli import workdir  # noqa: F401 - the CLI's data folder fixture
from .test_evaluation_run import check_structure, synthetic

runner = CliRunner()


def test_run_eval_charges_the_estimators_own_cost_to_the_router_only(embedder):
    calls: list[str] = []

    def llm(prompt: str) -> str:
        calls.append(prompt)
        return heuristic_reply(prompt)

    report = run_eval(synthetic(8), embedder=embedder, estimator=ReasoningEstimator(llm, input_price=1.0))
    check_structure(report)
    assert report.estimator == "reasoning" and len(calls) == 3 * report.n_test
    assert report.estimator_tokens > 0 and report.estimator_cost_usd == pytest.approx(
        report.estimator_tokens / 1e6, rel=0.2
    )
    assert report.estimator_fallbacks == {}
    assert all(p.estimator_cost == report.estimator_cost_usd for p in report.router.points)
    assert all(p.estimator_cost == 0.0 for c in report.baselines.values() for p in c.points)
    cheapest = min(report.router.points, key=lambda p: p.cost)
    assert cheapest.cost >= report.estimator_cost_usd + report.c_min - 1e-12  # all-small plus the estimator


def scope(*args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_eval_with_an_openai_compatible_estimator_llm(workdir):  # noqa: F811
    pytest.importorskip("langchain_openai")
    with StandInServer() as server:
        out = scope("eval", "outcomes.csv", "--estimator", "reasoning", "--estimator-llm", f"{server.url}#Cooolder/SCOPE",
                    "--estimator-price", "1,2", "--json", "r.json", "--quiet")  # fmt: skip
    report = EvalReport.model_validate_json((workdir / "r.json").read_text())
    assert report.estimator == "reasoning" and server.requests == 3 * report.n_test
    assert report.estimator_tokens > 0 and report.estimator_cost_usd > 0 and report.estimator_fallbacks == {}
    flat = " ".join(out.split())  # rich wraps long lines
    assert "estimator reasoning:" in flat and "included in the router's costs; knn fallbacks: none" in flat


def test_cli_eval_estimator_errors_are_clear(workdir, monkeypatch):  # noqa: F811
    def fails(*args: str) -> str:
        result = runner.invoke(app, ["eval", "outcomes.csv", "--quiet", *args])
        assert result.exit_code == 1
        return result.output

    assert "needs llm" in fails("--estimator", "reasoning") and "--estimator-llm" in fails("--estimator", "reasoning")
    assert "'knn-features' estimator takes no llm" in fails("--estimator-llm", "http://localhost:1/v1#m")
    assert "URL#MODEL" in fails("--estimator", "reasoning", "--estimator-llm", "http://localhost:1/v1")
    assert "INPUT,OUTPUT" in fails(
        "--estimator", "reasoning", "--estimator-llm", "http://x/v1#m", "--estimator-price", "1"
    )
    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # as if the optional extra were not installed
    assert "langchain-openai" in fails("--estimator", "reasoning", "--estimator-llm", "http://x/v1#m")
