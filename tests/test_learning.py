"""Learning from the router's own traffic: exploration and its propensities, off-policy estimates from the
decision log, the background refit, live outcomes pooling with ingested ones, and the learning-curve harness."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from scope_core import BehaviourStore, ModelSpec, Outcome, RouteOptions, Router
from scope_core.cli import app
from scope_core.estimators.estimate import Estimate
from scope_core.estimators.knn.evidence import shifted_prior
from scope_core.estimators.knn.features import logit
from scope_core.estimators.knn.groups import group_labels
from scope_core.estimators.knn.imputer import sigmoid
from scope_core.evaluation.offpolicy import calibration, policy_value, target_choice, usable
from scope_core.evaluation.online import run_online
from scope_core.evaluation.sweep import alpha_sweep
from scope_core.routing.explore import explored_choice
from scope_core.routing.policy import choose
from scope_core.routing.refit import Refitter, WorkerError, fit_in_worker

from .conftest import GREET, MATH, record_scores
from .test_evaluation_run import synthetic

SPECS = {n: ModelSpec(name=n, input_price=p, output_price=p) for n, p in (("cheap", 0.1), ("mid", 1.0), ("dear", 5.0))}


def estimate(model: str, p: float, std: float, cost: float) -> Estimate:
    return Estimate(model=model, p_correct=p, p_std=std, input_tokens=10, output_tokens=10, cost_usd=cost)


def test_exploration_draws_as_often_as_its_propensities_say():
    eligible = [
        estimate("cheap", 0.6, 0.15, 1e-5),
        estimate("mid", 0.65, 0.15, 1e-4),
        estimate("dear", 0.7, 0.02, 1e-3),
    ]
    rng = np.random.default_rng(0)
    picks, chances = Counter(), Counter()
    for _ in range(2000):
        chosen, propensities = explored_choice(eligible, "cheap", 0.8, 1e-3, 0.3, None, rng)
        picks[chosen] += 1
        chances.update(propensities)
        assert sum(propensities.values()) == pytest.approx(1.0)
    for model in ("cheap", "mid", "dear"):
        assert picks[model] / 2000 == pytest.approx(chances[model] / 2000, abs=0.03)
    assert 0 < picks["mid"] < picks["cheap"]  # the greedy choice keeps most calls
    # what exploration may cost: nothing dearer than twice the greedy choice is ever explored
    _, capped = explored_choice(eligible, "cheap", 0.8, 1e-3, 0.3, 2.0, rng)
    assert set(capped) == {"cheap"}


def test_a_router_explores_only_when_asked_and_logs_the_propensities(store, embedder):
    router = Router(store, embedder=embedder, cache_ttl_s=0.0, seed=1)
    for spec in SPECS.values():
        router.register_model(spec)
    record_scores(router, MATH[:2], {"cheap": 1.0, "mid": 0.0, "dear": 1.0})  # little evidence: wide posteriors
    greedy = {router.route(MATH[5], alpha=1.0).chosen for _ in range(10)}
    assert len(greedy) == 1
    explored = [router.route(MATH[5], alpha=1.0, explore=1.0) for _ in range(40)]
    assert len({d.chosen for d in explored}) > 1
    d = next(d for d in explored if d.explored)
    assert d.reason.startswith("explored") and 0 < d.propensity < 1 and d.ranking[0] == d.chosen
    assert not router.route(MATH[5], alpha=1.0, explore=1.0, model="dear").explored  # a forced model is never explored


def test_the_target_policy_is_the_policys_own_choice_and_dr_recovers_the_logged_policy():
    rng = np.random.default_rng(2)
    records = []
    for _ in range(300):
        p = rng.random(3)
        ests = [
            estimate(m, float(p[j]), 0.1, c)
            for j, (m, c) in enumerate((("cheap", 1e-5), ("mid", 1e-4), ("dear", 1e-3)))
        ]
        greedy = choose(ests, SPECS, RouteOptions(alpha=0.6), 1e-3).chosen
        chosen, propensities = explored_choice(ests, greedy, 0.6, 1e-3, 0.5, None, rng)
        records.append({
            "chosen": chosen, "model": chosen, "score": float(rng.random() < p[[e.model for e in ests].index(chosen)]),
            "cost_ref": 1e-3, "propensities": propensities,
            "predictions": {e.model: {"p": e.p_correct, "cost_usd": e.cost_usd, "excluded": None} for e in ests},
        })  # fmt: skip
        for alpha in (0.1, 0.6, 0.99):
            assert target_choice(records[-1], alpha) == choose(ests, SPECS, RouteOptions(alpha=alpha), 1e-3).chosen
    truth = {a: np.mean([r["predictions"][target_choice(r, a)]["p"] for r in records]) for a in (0.2, 0.9)}
    for alpha, value in truth.items():
        estimated = policy_value(records, alpha)
        assert estimated.ci_low - 0.03 <= value <= estimated.ci_high + 0.03
        assert estimated.ips is not None and abs(estimated.ips - value) < 0.1
        # explored calls weigh more than greedy ones: fewer equally weighted calls than agreeing ones
        assert 0 < estimated.effective_calls < estimated.agreement * estimated.calls
    greedy_log = [{**r, "propensities": {r["chosen"]: 1.0}} for r in records]
    plain = policy_value(greedy_log, 0.6)
    assert plain.effective_calls == pytest.approx(plain.agreement * plain.calls)


def test_off_policy_estimates_correct_a_models_biased_predictions_from_the_log_itself():
    rng = np.random.default_rng(0)
    records, true_p = [], []
    for _ in range(1500):
        truth = {"cheap": float(rng.uniform(0.3, 0.9)), "dear": float(rng.uniform(0.5, 0.9))}
        said = {"cheap": float(sigmoid(logit(truth["cheap"]) - 0.8)), "dear": truth["dear"]}  # cheap's run low
        predictions = {m: {"p": said[m], "cost_usd": c, "excluded": None} for m, c in (("cheap", 1e-5), ("dear", 1e-3))}
        record = {"cost_ref": 1e-3, "predictions": predictions, "propensities": {}}
        chosen = target_choice(record, 0.9)  # a greedy log: propensity 1 for its choice, 0 for the other
        records.append({**record, "chosen": chosen, "model": chosen, "score": float(rng.random() < truth[chosen])})
        true_p.append(truth)
    assert 0.1 < np.mean([r["chosen"] == "cheap" for r in records]) < 0.9
    assert 0.4 < calibration(usable(records))["cheap"] < 1.2  # measured where the log chose it
    for alpha in (0.5, 0.95):
        value = np.mean([t[target_choice(r, alpha)] for r, t in zip(records, true_p, strict=True)])
        raw = np.mean([r["predictions"][target_choice(r, alpha)]["p"] for r in records])
        estimated = policy_value(records, alpha)
        assert estimated.ci_low <= value <= estimated.ci_high
        assert abs(estimated.doubly_robust - value) < abs(raw - value)


def test_others_evidence_moves_a_prior_where_a_model_has_none():
    mu = np.asarray([0.5, 0.5, 0.5])
    s_w, n_w = np.asarray([0.0, 9.0, 0.0]), np.asarray([0.0, 10.0, 0.0])  # only model 1 answered: 90% right
    moved = shifted_prior(s_w, n_w, mu, shift=1.0, strength=1.0)
    assert moved[0] == moved[2] > 0.8 and moved[1] == 0.5  # its own evidence never moves its own prior
    assert np.array_equal(shifted_prior(s_w, n_w, mu, shift=0.0, strength=1.0), mu)


def test_the_spread_says_how_much_is_known_after_a_fit(store, embedder):
    """A fitted store's ensemble has a member that trusts the prior mean alone (a prior strength of a million
    pseudo-outcomes); the spread must still tell a model profiled on four prompts from those known on hundreds."""
    router = Router(store, embedder=embedder, cache_ttl_s=0.0)
    router.ingest(synthetic(110), progress=False)
    router.register_model(ModelSpec(name="newcomer", input_price=0.5, output_price=1.0))
    router.record([Outcome(prompt=MATH[i], model="newcomer", score=float(i % 2)) for i in range(4)])
    fit = router.fit()
    assert fit.settings is not None and max(tau for _, tau in fit.settings.members) >= 1e6
    spread = {
        e.model: e.p_std for e in router.route("Compute the integral of x^40 times sin(x) from 0 to pi").estimates
    }
    known = [spread[m] for m in spread if m != "newcomer"]
    assert spread["newcomer"] > 0.05 and spread["newcomer"] > 2 * max(known)


def test_unlabelled_prompts_join_the_nearest_task():
    vectors = np.asarray([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]] * 5 + [[0.95, 0.05], [0.05, 0.95]], dtype=float)
    tasks = ["a", "a", "b", "b"] * 5 + [None, None]
    source, labels, names = group_labels(vectors, tasks)
    assert source == "task" and names == ["a", "b"] and list(labels[-2:]) == [0, 1]


def test_the_background_refit_follows_scored_traffic(store, embedder):
    router = Router(store, embedder=embedder, cache_ttl_s=0.0)
    for spec in SPECS.values():
        router.register_model(spec)
    refitter = Refitter(router, every=30, processes=False)
    assert not refitter.check()  # the first look only counts
    record_scores(router, MATH + GREET, {"cheap": 1.0, "mid": 0.0, "dear": 1.0})
    assert refitter.check() and refitter.refits == 1 and router.store.registry().fits
    assert not refitter.check()
    background = Refitter(router, every=1, check_s=0.05).start()
    if sys.platform == "linux":  # routes get the cores first: the refit thread runs at the lowest priority
        deadline = time.monotonic() + 5
        while os.getpriority(os.PRIO_PROCESS, background._thread.native_id) != 19 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, background._thread.native_id) == 19
    saved, put_fit = [], router.store.put_fit
    router.store.put_fit = lambda name, fit: (saved.append(name), put_fit(name, fit))  # type: ignore[method-assign]
    record_scores(router, [f"{t} again" for t in MATH], {"cheap": 0.0})
    deadline = time.monotonic() + 60
    while background.refits == 0 and time.monotonic() < deadline:
        router.route(GREET[0])  # routes go on while it refits
    background.stop()
    assert background.refits >= 1 and background.processes  # fitted in its worker process
    assert saved[: background.refits] == ["knn"] * background.refits  # and saved here


def test_a_fit_in_the_worker_process_is_the_fit_in_this_one(store, embedder):
    router = Router(store, embedder=embedder, cache_ttl_s=0.0)
    router.ingest(synthetic(300), progress=False)
    here = router.fit()
    job = router.fit_job()
    assert job is not None and job[1].count_prompts() == store.count_prompts()
    there = fit_in_worker(*job)
    assert there is not None and here is not None and here.settings is not None and there.settings is not None
    chosen = ("temperature", "prior_strength", "members", "shift", "shift_strength", "imputed_weight", "n_pairs")
    assert [getattr(there.settings, x) for x in chosen] == [getattr(here.settings, x) for x in chosen]
    assert there.settings.log_loss == pytest.approx(here.settings.log_loss, abs=1e-9)  # summed in another order
    assert np.allclose(there.settings.calibration_y, here.settings.calibration_y, atol=1e-6)
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    assert fit_in_worker(*job, stop=stop) is None and time.monotonic() - started < 5  # a stopped fit is ended


def test_a_worker_that_fails_says_why():
    with pytest.raises(WorkerError, match="exited with"):
        fit_in_worker(object(), None, 8, None)  # type: ignore[arg-type]


def test_the_learning_curve_harness_and_its_cli(embedder, tmp_path):
    data = synthetic(40)
    report = run_online(data, warmup=10, stream=30, holdout=20, window=10, embedder=embedder, refit_every=None, k=16)
    assert {(r.variant, r.alpha) for r in report.runs} == {(v, 0.7) for v in ("none", "bandit", "full")}
    full = report.run("full", 0.7)
    assert [w.calls for w in full.windows] == [10, 10, 10] and 0 <= full.aiq <= 1
    assert set(full.log_loss_by_model) == set(data.models) and len(full.curve) == len(alpha_sweep())
    assert [round(a, 6) for a, _, _ in full.curve] == alpha_sweep() and all(0 <= acc <= 1 for _, _, acc in full.curve)
    assert sum(report.run("bandit", 0.7).choices.values()) == 30
    assert report.gap_closed(0.7) is None or np.isfinite(report.gap_closed(0.7))
    low, high = report.run("bandit", 0.7).vs_none
    assert low <= report.run("bandit", 0.7).aiq - report.run("none", 0.7).aiq <= high
    assert all(0 < r.log_loss < 5 for r in report.runs)
    # the CLI over a data folder, then off-policy estimates from a store's decision log
    folder = tmp_path / "store"
    router = Router(BehaviourStore.open(str(folder)), embedder=embedder, cache_ttl_s=0.0)
    for spec in SPECS.values():
        router.register_model(spec)
    record_scores(router, MATH, {"cheap": 0.0, "mid": 1.0, "dear": 1.0})
    for text in GREET:
        decision = router.route(text, alpha=0.5, explore=0.5)
        router.record_call(decision, text, decision.chosen, input_tokens=10, output_tokens=10, score=1.0)
    del router
    result = CliRunner().invoke(app, ["eval", "--logged", "--store", str(folder), "--alpha", "0.2", "--alpha", "0.9",
                                      "--json", str(tmp_path / "ope.json")])  # fmt: skip
    assert result.exit_code == 0, result.output
    values = json.loads((tmp_path / "ope.json").read_text())
    assert [v["alpha"] for v in values] == [0.2, 0.9] and all(v["calls"] == len(GREET) for v in values)


def test_live_outcomes_pool_with_ingested_ones(store, embedder):
    router = Router(store, embedder=embedder, cache_ttl_s=0.0)
    router.ingest(synthetic(110), progress=False)
    live = [Outcome(prompt=f"Compute the integral of x^{n} times cos(x) from 0 to 1", model="large", score=1.0)
            for n in range(40)]  # fmt: skip
    router.record(live)
    fit = router.fit()
    assert fit.settings is not None and fit.settings.groups is not None and fit.settings.groups.source == "task"
