"""Anchor selection and profiling a new model on anchors."""

from __future__ import annotations

import numpy as np
import pytest
from langchain_core.messages import AIMessage

from scope_core import ModelSpec
from scope_core.anchors import select_anchors
from scope_core.profile import profile_model, reply_usage

from .conftest import GREET, MATH


def _blobs(n_blobs: int, per_blob: int, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_blobs, dim)) * 10
    labels = np.repeat(np.arange(n_blobs), per_blob)
    return centres[labels] + rng.normal(scale=0.1, size=(len(labels), dim)), labels


def test_one_anchor_per_cluster():
    x, labels = _blobs(6, 30)
    anchors = select_anchors(x, 6, seed=0)
    assert sorted(labels[anchors]) == list(range(6))


def test_anchors_are_distinct_and_seeded():
    x, _ = _blobs(4, 50)
    anchors = select_anchors(x, 40, seed=1)
    assert len(set(anchors)) == 40
    assert select_anchors(x, 40, seed=1) == anchors
    assert select_anchors(x, 500) == list(range(len(x)))
    with pytest.raises(ValueError):
        select_anchors(x, 0)


def test_anchors_follow_where_prompts_are():
    # two equally spread groups, one 9x larger: it gets most anchors (farthest-point sampling would split ~evenly)
    rng = np.random.default_rng(0)
    big = rng.normal(size=(180, 16))
    small = rng.normal(size=(20, 16)) + 50.0
    anchors = select_anchors(np.vstack([big, small]), 10, seed=0)
    in_big = sum(i < 180 for i in anchors)
    assert 7 <= in_big <= 9


def test_reply_usage_reads_strings_mappings_and_messages():
    assert reply_usage("hi") == ("hi", None, None)
    assert reply_usage({"text": "hi", "input_tokens": 3, "output_tokens": 4}) == ("hi", 3, 4)
    message = AIMessage(content="hi", usage_metadata={"input_tokens": 7, "output_tokens": 2, "total_tokens": 9})
    assert reply_usage(message) == ("hi", 7, 2)
    with pytest.raises(TypeError):
        reply_usage(42)


def _solver(prompt: str) -> AIMessage:
    """A new model that solves the math prompts and answers greetings badly."""
    text = "42" if "integral" in prompt else "go away"
    return AIMessage(content=text, usage_metadata={"input_tokens": 30, "output_tokens": 5, "total_tokens": 35})


def _grader(prompt: str, text: str) -> bool:
    return (text == "42") if "integral" in prompt else ("hello" in text)


def test_profiled_model_is_placed_from_its_anchors(router):
    spec = ModelSpec(name="solver", input_price=0.05, output_price=0.1)
    report = profile_model(router, spec, MATH + GREET, _solver, _grader, anchors=6, batch=4)
    assert report.prompts == 6 and report.scored == 6 and report.errors == 0
    assert report.total_cost_usd == pytest.approx(6 * spec.cost(30, 5))
    # diverse anchors: both kinds of prompt were profiled
    assert 0.0 < report.mean_score < 1.0
    assert router.store.priors()["solver"][0] == 6
    math_p = router.route("Compute the integral of x^20 times sin(x) from 0 to pi").estimate_for("solver").p_correct
    greet_p = router.route("Say hello to my friend number 40 in a cheerful tone").estimate_for("solver").p_correct
    assert math_p > greet_p


def test_failing_answers_are_recorded_as_errors(router):
    def flaky(prompt: str) -> str:
        if "integral" in prompt:
            raise TimeoutError("no answer")
        return "hello there"

    spec = ModelSpec(name="flaky", input_price=0.05, output_price=0.1)
    report = profile_model(router, spec, MATH[:3] + GREET[:3], flaky, _grader, anchors=None)
    assert report.prompts == 6 and report.errors == 3 and report.scored == 3
    assert report.mean_score == 1.0
