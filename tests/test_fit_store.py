"""fit_settings: leave-one-out choice of the knn settings and the calibration map, saved in the registry."""

from __future__ import annotations

import numpy as np
import pytest

from scope_core import ModelSpec, Outcome
from scope_core.errors import InvalidInputError
from scope_core.estimators import KNNEstimator, get_estimator
from scope_core.estimators.knn.fit import calibration_map, fit_settings
from scope_core.estimators.knn.settings import KNNFit, KNNSettings
from scope_core.outcome import text_hash
from scope_core.store.records import PromptInfo

from .test_estimators import PRIORS, SPECS, context, summary


def with_fit(ctx, settings: KNNSettings):
    """The query context of a store holding this knn fit."""
    return ctx.__class__(**{**ctx.__dict__, "fits": {"knn": KNNFit(settings=settings).model_dump_json()}})


def clustered_store(store, n: int = 240, noise: float = 0.1, seed: int = 0, tasks: bool = False) -> None:
    """Two tight clusters of prompts: 'a' is right on cluster 0, 'b' on cluster 1 (``noise`` of labels flipped)."""
    rng = np.random.default_rng(seed)
    for spec in SPECS:
        store.put_model(spec)
    centres = np.eye(16, dtype=np.float32)[:2]
    infos, outcomes = {}, []
    for i in range(n):
        cluster = i % 2
        text = f"prompt {i}"
        vector = centres[cluster] + rng.normal(scale=0.05, size=16).astype(np.float32)
        task = f"task-{cluster}" if tasks else None
        infos[text_hash(text)] = PromptInfo(text_hash(text), vector / np.linalg.norm(vector), 5, text, task)
        for model, right_on in (("a", 0), ("b", 1)):
            right = (cluster == right_on) != (rng.random() < noise)
            outcomes.append(Outcome(prompt=text, model=model, score=float(right), source="fixture"))
    store.add(outcomes, infos)


def test_fit_finds_the_groups_and_calibrates(store):
    clustered_store(store)
    fit = fit_settings(store, {}, k=16, min_queries=100)
    assert fit is not None and fit.n_queries >= 200 and fit.n_pairs == 2 * fit.n_queries
    # no task labels: k-means clusters are the groups, and each cluster's mean says almost everything
    # here, so the group prior wins and beats the defaults (global means) held out
    assert fit.groups is not None and fit.groups.source == "cluster"
    assert fit.log_loss < fit.log_loss_default - 0.03
    assert np.all(np.diff(fit.calibration_x) > 0) and np.all(np.diff(fit.calibration_y) > 0)
    # about 10% of labels are flipped, so the held-out estimates sit near 0.9 / 0.1 and are about right:
    # the map stays close to the identity there
    assert fit.calibrate(np.asarray([0.9]))[0] == pytest.approx(0.9, abs=0.05)
    assert fit.calibrate(np.asarray([0.1]))[0] == pytest.approx(0.1, abs=0.05)


def test_small_store_keeps_the_defaults(store):
    clustered_store(store, n=40)
    assert fit_settings(store, {}, k=16) is None


def test_fit_is_saved_in_the_registry_and_never_taken_for_a_model(store):
    clustered_store(store, n=20)
    fit = KNNSettings(
        temperature=0.1, prior_strength=2.0, calibration_x=[0.0, 1.0], calibration_y=[0.2, 0.8],
        n_queries=1, n_pairs=2, log_loss=0.5, log_loss_default=0.6,
    )  # fmt: skip
    store.put_fit("knn", KNNFit(settings=fit).model_dump_json())
    registry = store.registry()
    assert KNNEstimator().load_fit(registry.fits["knn"]).settings == fit
    assert set(registry.specs) == {"a", "b"} and set(registry.priors) == {"a", "b"}
    with pytest.raises(InvalidInputError, match="model name '__fit__' is not allowed"):
        store.put_model(ModelSpec(name="__fit__", input_price=1, output_price=1))
    with pytest.raises(InvalidInputError, match="reserved"):
        store.put_model(ModelSpec.model_construct(name="__fit__", input_price=1, output_price=1))


def test_knn_uses_the_store_fit_unless_told_otherwise():
    fit = KNNSettings(
        temperature=0.5, prior_strength=0.0, calibration_x=[0.0, 1.0], calibration_y=[0.25, 0.75],
        n_queries=1, n_pairs=1, log_loss=0.5, log_loss_default=0.6,
    )  # fmt: skip
    ctx = context([(0.9, {"a": summary(1.0), "b": summary(0.0)})], PRIORS)
    fitted = with_fit(ctx, fit)
    # no shrinkage (the fit's tau=0): p is the neighbour's score, then mapped 1 -> 0.75, 0 -> 0.25
    p = {e.model: e.p_correct for e in KNNEstimator().estimate(fitted, SPECS)}
    assert p == pytest.approx({"a": 0.75, "b": 0.25})
    # explicit settings win over the fit, and knn-plain never calibrates
    own = {e.model: e.p_correct for e in KNNEstimator(prior_strength=8.0, calibrate=False).estimate(fitted, SPECS)}
    assert 0.5 < own["a"] < 1.0
    plain = {e.model: e.p_correct for e in get_estimator("knn-plain").estimate(fitted, SPECS)}
    assert plain == pytest.approx({"a": 1.0, "b": 0.0})


def test_calibration_map_tempers_overconfidence_and_keeps_the_order():
    rng = np.random.default_rng(3)
    truth = rng.random(20000)
    p = 1 / (1 + np.exp(-3 * np.log(truth / (1 - truth))))  # estimates three times too sharp in logit
    y = (rng.random(20000) < truth).astype(float)
    xs, ys = calibration_map(p, y)
    assert np.all(np.diff(ys) > 0)
    for raw in (0.05, 0.3, 0.8):
        expected = 1 / (1 + np.exp(-np.log(raw / (1 - raw)) / 3))
        assert np.interp(raw, xs, ys) == pytest.approx(expected, abs=0.03)


def test_task_labels_are_the_groups_and_move_the_estimate(store):
    """Labelled prompts group by task; a query near task 0's prompts gets 'a''s task-0 mean as its prior."""
    clustered_store(store, noise=0.0, tasks=True)
    fit = fit_settings(store, {}, k=16, min_queries=100)
    assert fit.groups is not None and fit.groups.source == "task" and fit.groups.names == ["task-0", "task-1"]
    query = np.eye(16)[0]
    mu, tokens, _ = fit.groups.priors(
        query, ["a", "b", "new"], np.asarray([0.5, 0.5, 0.4]), np.full(3, 100.0), np.full(3, 20.0)
    )
    # 'a' is right on all of task 0, 'b' on none; a model the fit never saw keeps its global values
    assert mu[0] > 0.9 and mu[1] < 0.1 and mu[2] == pytest.approx(0.4) and tokens[2] == 100.0


def test_a_model_never_tried_on_a_task_keeps_that_tasks_difficulty(store):
    """'a' answered both tasks (task 0 easy, task 1 hard); 'b' only task 0, as a model live traffic never picks
    elsewhere. 'b''s group mean on task 1 rests on no outcome of its own, so it is its global mean moved by how
    much harder task 1 is for the models that answered both: well below its task-0 mean, not level with it."""
    rng = np.random.default_rng(0)
    for spec in SPECS:
        store.put_model(spec)
    centres = np.eye(16, dtype=np.float32)[:2]
    infos, outcomes = {}, []
    for i in range(300):
        task = i % 2
        text = f"prompt {i}"
        vector = centres[task] + rng.normal(scale=0.05, size=16).astype(np.float32)
        infos[text_hash(text)] = PromptInfo(text_hash(text), vector / np.linalg.norm(vector), 5, text, f"task-{task}")
        answered = [("a", (0.9, 0.3)[task])] + ([("b", 0.8)] if task == 0 else [])
        outcomes += [
            Outcome(prompt=text, model=m, score=float(rng.random() < p), source="fixture") for m, p in answered
        ]
    store.add(outcomes, infos)
    fit = fit_settings(store, {}, k=16, min_queries=100)
    assert fit.groups is not None and fit.groups.offsets[0] - fit.groups.offsets[1] > 1.5  # logit(0.9) - logit(0.3)
    global_mean = np.asarray([0.6, 0.8])
    easy, hard = (
        fit.groups.priors(np.eye(16)[t], ["a", "b"], global_mean, np.full(2, 100.0), np.full(2, 20.0))[0]
        for t in (0, 1)
    )
    assert easy[1] > 0.7 and hard[1] < 0.6 and hard[0] < 0.4


def test_knn_averages_the_fits_ensemble():
    members = [(0.1, 0.0), (1.0, 1e6)]  # the neighbour alone, and the prior mean alone
    fit = KNNSettings(
        temperature=0.1, prior_strength=0.0, members=members,
        n_queries=1, n_pairs=1, log_loss=0.5, log_loss_default=0.6,
    )  # fmt: skip
    ctx = context([(0.9, {"a": summary(1.0), "b": summary(0.0)})], PRIORS)
    fitted = with_fit(ctx, fit)
    alone = {m: {e.model: e.p_correct for e in KNNEstimator(temperature=t, prior_strength=x).estimate(fitted, SPECS)}
             for m, (t, x) in zip(("nb", "prior"), members, strict=True)}  # fmt: skip
    mean = {e.model: e.p_correct for e in KNNEstimator().estimate(fitted, SPECS)}
    assert mean == pytest.approx({m: (alone["nb"][m] + alone["prior"][m]) / 2 for m in ("a", "b")})
    assert alone["nb"]["a"] == 1.0 and 0.0 < mean["a"] < 1.0


def test_the_ensemble_holds_every_temperature_once_and_the_prior_alone():
    from scope_core.estimators.knn.fit import GROUP_ONLY, ensemble

    assert ensemble({0.1: 4.0, 0.5: GROUP_ONLY, 1.0: 16.0}) == [(0.1, 4.0), (1.0, GROUP_ONLY), (1.0, 16.0)]


def test_the_fits_vectorised_predictions_are_the_estimators_formula():
    from scope_core.estimators.knn.evidence import shrunk_p
    from scope_core.estimators.knn.loo import held_out_p, pairs, weighted_evidence

    rng = np.random.default_rng(3)
    rows, mus, owns = [], [], []
    for _ in range(5):
        ev = np.zeros((7, 2, 6))
        ev[:, :, 0] = rng.integers(0, 2, size=(7, 2))  # some neighbours without scored evidence
        ev[:, :, 1] = ev[:, :, 0] * rng.random((7, 2))
        rows.append((ev, np.sort(rng.random(7))[::-1], np.full(7, 50.0)))
        mus.append(rng.random(2))
        own = np.zeros((2, 6))
        own[:, 0], own[:, 1] = 1.0, rng.integers(0, 2, size=2)
        owns.append(own)
    for t, tau, shift in ((0.05, 0.0, (0.0, 1.0)), (0.2, 4.0, (1.0, 1.0)), (1.0, 1e6, (2.0, 8.0))):
        p, y = pairs(held_out_p(weighted_evidence(rows, t), np.asarray(mus), tau, *shift), np.asarray(owns))
        expected = np.concatenate(
            [shrunk_p(ev, sims, mu, t, tau, *shift)[0] for (ev, sims, _), mu in zip(rows, mus, strict=True)]
        )
        assert p == pytest.approx(expected) and y == pytest.approx(np.concatenate([o[:, 1] for o in owns]))


def _twin_store(store, n: int = 360, anchors: int = 90, seed: int = 0) -> None:
    """30 tight clusters of prompts (more than the fit's k-means groups): 'a' is right on a random half of
    them, 'b' at random; 'thin' copies 'a''s score on ``anchors`` prompts and has no other outcome."""
    rng = np.random.default_rng(seed)
    for name in ("a", "b", "thin"):
        store.put_model(ModelSpec(name=name, input_price=1.0, output_price=1.0))
    centres = rng.normal(size=(30, 16)).astype(np.float32)
    good = rng.random(30) < 0.5
    infos, outcomes = {}, []
    for i in range(n):
        text, cluster = f"prompt {i}", i % 30
        vector = centres[cluster] / np.linalg.norm(centres[cluster]) + rng.normal(scale=0.02, size=16).astype(
            np.float32
        )
        infos[text_hash(text)] = PromptInfo(text_hash(text), vector / np.linalg.norm(vector), 5, text, None)
        scores = {"a": float(good[cluster] != (rng.random() < 0.1)), "b": float(rng.random() < 0.5)}
        if i < anchors:
            scores["thin"] = scores["a"]
        outcomes += [Outcome(prompt=text, model=m, score=s, source="fixture") for m, s in scores.items()]
    store.add(outcomes, infos)


def test_the_imputed_scores_weight_is_fitted_on_the_partly_profiled_models_outcomes(store):
    from scope_core.estimators.knn.imputer_fit import IMPUTED_WEIGHTS, fit_imputers
    from scope_core.estimators.knn.settings import DEFAULT_IMPUTED_WEIGHT

    _twin_store(store)
    imputers = fit_imputers(store)
    assert list(imputers) == ["thin"]
    fit = fit_settings(store, imputers, k=16, min_queries=100)
    # the neighbours matter here (30 clusters, fewer groups), 'thin' has few neighbours of its own and its
    # imputer (it copies 'a') is right: imputed scores count for more than one outcome each
    assert all(x < 1e6 for _, x in fit.members[:-1])
    assert fit.imputed_weight > DEFAULT_IMPUTED_WEIGHT and fit.imputed_weight in IMPUTED_WEIGHTS
