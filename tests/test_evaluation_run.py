"""run_eval end to end: a small synthetic set (fast) and a routerbench-3k subset (data)."""

from __future__ import annotations

from collections import Counter

import pytest

from scope_core import default_embedder
from scope_core.data.dataset import Dataset, OutcomeRow, PromptRow
from scope_core.evaluation import EvalReport, aiq, run_eval
from scope_core.evaluation.plot import plot_report
from scope_core.evaluation.sweep import operating_points, route_prompts
from scope_core.specs import ModelSpec

from .conftest import data_path

PRICES = {"small": (0.1, 0.2), "medium": (1.0, 2.0), "large": (10.0, 30.0)}


def synthetic(n: int = 16) -> Dataset:
    """Math prompts: only 'large' is right (and 'medium' on every other one); greetings: all right."""
    prompts, outcomes = [], []
    for i in range(n):
        for kind, text in (
            ("math", f"Compute the integral of x^{i + 2} times sin(x) from 0 to pi"),
            ("greet", f"Say hello to my friend number {i + 2} in a cheerful tone"),
        ):
            pid = f"{kind}{i}"
            prompts.append(PromptRow(pid, kind, text))
            for model, (pin, pout) in PRICES.items():
                right = kind == "greet" or model == "large" or (model == "medium" and i % 2 == 0)
                outcomes.append(OutcomeRow(pid, model, float(right), 20, 50, (20 * pin + 50 * pout) / 1e6))
    specs = {m: ModelSpec(name=m, input_price=pin, output_price=pout) for m, (pin, pout) in PRICES.items()}
    return Dataset("synthetic", prompts, outcomes, specs)


def check_structure(report: EvalReport) -> None:
    """Properties every report must have, whatever the data."""
    assert EvalReport.model_validate_json(report.model_dump_json()) == report
    assert report.c_min < report.c_max
    singles = [(s.cost, s.accuracy) for s in report.singles]
    assert report.zero_router.aiq == pytest.approx(aiq(singles, report.c_min, report.c_max))
    assert report.best_single_accuracy == max(a for _, a in singles)
    for curve in (report.router, *report.baselines.values()):
        assert len(curve.points) == len(report.alphas)
        assert 0.0 <= curve.aiq <= 1.0
        assert all(sum(p.choices.values()) == report.n_test for p in curve.points)
        assert all(p.accuracy <= report.oracle.accuracy + 1e-12 for p in curve.points)
        by_alpha = {p.alpha: p for p in curve.points}
        assert by_alpha[1.0].accuracy >= by_alpha[0.0].accuracy
        assert by_alpha[1.0].cost >= by_alpha[0.0].cost
        assert curve.max_accuracy == max(p.accuracy for p in curve.points)
    assert set(report.baselines) == {"knn-plain", "logistic", "task-router"}
    assert len(report.train_ids) == report.n_train and len(report.test_ids) == report.n_test
    assert not set(report.train_ids) & set(report.test_ids)
    assert report.task_oracle is not None and len(report.task_oracle.points) == len(report.alphas)
    assert 0.0 <= report.calibration.ece <= 1.0
    assert sum(b.count for b in report.calibration.bins) == sum(s.n for s in report.singles)
    assert set(report.calibration.cost_mdape) == {s.name for s in report.singles}


def test_synthetic_eval(embedder, tmp_path):
    report = run_eval(synthetic(), embedder=embedder)
    check_structure(report)
    assert report.n_train == report.n_test == 16
    # large is the only model right on every math prompt: at alpha=1 the router reaches perfect accuracy
    assert report.router.points[-1].accuracy == 1.0
    assert report.router.cost_to_best_single is not None
    assert report.router.cost_to_best_single < next(s.cost for s in report.singles if s.name == "large")
    # told each task's accuracies, the task oracle sends greetings to 'small' and, at alpha=1, math to 'large'
    cheapest, best = report.task_oracle.points[0], report.task_oracle.points[-1]
    assert cheapest.choices == {"small": report.n_test}
    assert best.accuracy == 1.0 and set(best.choices) == {"large", "small"}
    # the task router learns the same from the train part: greetings to 'small', math to 'large' at alpha=1
    fair = report.baselines["task-router"].points
    assert fair[0].choices == {"small": report.n_test}
    assert fair[-1].accuracy == 1.0 and set(fair[-1].choices) == {"large", "small"}
    png = plot_report(report, tmp_path / "curve.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_held_out_model_is_still_chosen_where_it_is_best(embedder):
    report = run_eval(synthetic(), embedder=embedder, holdout_models=["large"], anchors=4)
    check_structure(report)
    assert report.anchors == 4 and report.holdout_models == ["large"]
    assert report.router.points[-1].choices.get("large", 0) > 0


def test_unknown_held_out_model_is_refused(embedder):
    with pytest.raises(ValueError, match="unknown held-out"):
        run_eval(synthetic(4), embedder=embedder, holdout_models=["nope"])


def test_replayed_policy_matches_routing_at_each_alpha(router):
    texts = [f"Integrate x^{n} cos(x) over 0..pi" for n in range(3)] + [f"Greet my neighbour {n}" for n in range(3)]
    models = sorted(router.models())
    candidates = [models] * len(texts)
    routed = route_prompts(router, texts, candidates)[router.estimator.name]
    ones = [[1.0] * len(models) for _ in texts]
    import numpy as np

    alphas = [0.0, 0.5, 0.9, 0.99, 1.0]
    points = operating_points(routed, router.models(), alphas, np.array(ones), np.array(ones), models)
    for alpha, point in zip(alphas, points, strict=True):
        direct = Counter(router.route(t, alpha=alpha).chosen for t in texts)
        assert point.choices == dict(sorted(direct.items()))


@pytest.mark.data
def test_routerbench_subset_eval(tmp_path):
    report = run_eval(data_path("routerbench-3k"), max_prompts=300, embedder=default_embedder(disk_cache=True))
    check_structure(report)
    assert report.n_train + report.n_test == 300
    assert len(report.singles) == 11
