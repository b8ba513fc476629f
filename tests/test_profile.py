"""Profiling models on the shipped anchors: concurrent answers, grading, usage and cost, resume, max-cost stop."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from llama_index.core.llms.mock import MockLLM

from scope_core import BehaviourStore, ModelSpec, Router
from scope_core.profiling.anchors import MULTIPLE_CHOICE_INSTRUCTION, shipped_anchors
from scope_core.profiling.profile import aprofile_model, done_anchors, estimate_cost, profile_model
from scope_core.store import summary as sm

from .fake_models import SubjectExpert, anchor_reply

SCIENCE = frozenset({"math", "physics", "chemistry", "engineering"})
HUMANITIES = frozenset({"law", "history", "philosophy", "psychology"})
ANCHORS = shipped_anchors(14)  # one per subject
MATH_QUERY = "Find the derivative of f(x) = 3x^4 - 2x^2 + 7 and evaluate it at x = 2."
LAW_QUERY = "Under the rule against hearsay, is a witness's out-of-court statement admissible at trial?"


@pytest.fixture
def fresh(embedder) -> Router:
    """A router on an empty store: a new user with no data."""
    store = BehaviourStore.ephemeral()
    yield Router(store, embedder=embedder, cache_ttl_s=0.0)
    store.drop()


def spec(name: str, price: float = 1.0) -> ModelSpec:
    return ModelSpec(name=name, input_price=price, output_price=price)


def test_profiled_models_differ_by_what_they_answered(fresh):
    science, humanities = SubjectExpert(model_name="sci", known=SCIENCE), SubjectExpert(known=HUMANITIES)
    reports = [
        profile_model(fresh, spec("sci"), science, ANCHORS, concurrency=4),
        profile_model(fresh, spec("hum"), humanities, ANCHORS, concurrency=4),
    ]
    assert [(r.answered, r.scored, r.errors) for r in reports] == [(14, 14, 0), (14, 14, 0)]
    assert reports[0].mean_score == reports[1].mean_score == pytest.approx(4 / 14)
    assert science.calls == humanities.calls == 14
    # tokens and cost as the model reported them (SubjectExpert: characters / 4 in, 12 out)
    in_tok = sum((len(a.prompt) + len(MULTIPLE_CHOICE_INSTRUCTION)) // 4 for a in ANCHORS)
    assert reports[0].total_cost_usd == pytest.approx(spec("sci").cost(in_tok, 14 * 12))
    assert fresh.store.priors()["sci"][sm.N_USAGE] == 14
    math, law = fresh.route(MATH_QUERY), fresh.route(LAW_QUERY)
    assert math.estimate_for("sci").p_correct > math.estimate_for("hum").p_correct
    assert law.estimate_for("hum").p_correct > law.estimate_for("sci").p_correct
    assert math.chosen == "sci" and law.chosen == "hum"
    assert not any(e.cold_start for e in math.estimates)


def test_profiling_resumes_where_it_stopped_and_estimates_what_is_left(fresh):
    model = SubjectExpert(known=SCIENCE)
    assert estimate_cost(fresh, spec("m"), ANCHORS).output_tokens == 14 * 300  # no usage known yet: a guess
    first = profile_model(fresh, spec("m"), model, ANCHORS[:10], fit=False)
    assert (first.answered, first.skipped) == (10, 0)
    before = estimate_cost(fresh, spec("m"), ANCHORS)
    assert (before.anchors, before.done) == (4, 10)
    assert before.output_tokens == 4 * 12  # the model's recorded mean answer length
    assert before.cost_usd == pytest.approx(spec("m").cost(before.input_tokens, before.output_tokens))
    second = profile_model(fresh, spec("m"), model, ANCHORS, fit=False)
    assert (second.answered, second.skipped) == (4, 10) and model.calls == 14
    assert len(done_anchors(fresh, "m", ANCHORS)) == 14
    assert profile_model(fresh, spec("m"), model, ANCHORS, fit=False).answered == 0 and model.calls == 14


def test_max_cost_stops_before_the_budget_is_passed(fresh):
    dear, expert = spec("dear", price=100.0), SubjectExpert()
    full = sum(dear.cost((len(a.prompt) + len(MULTIPLE_CHOICE_INSTRUCTION)) // 4, 12) for a in ANCHORS)
    report = profile_model(fresh, dear, expert, ANCHORS, max_cost=full / 2, concurrency=1, fit=False)
    assert report.stopped_at_max_cost and 3 <= report.answered < 14 and expert.calls == report.answered
    dearest = max(dear.cost((len(a.prompt) + len(MULTIPLE_CHOICE_INSTRUCTION)) // 4, 12) for a in ANCHORS)
    assert full / 2 - dearest <= report.total_cost_usd <= full / 2 + dearest  # stops within one answer of it


def test_callables_and_llamaindex_llms_can_be_profiled_and_failures_are_recorded(fresh):
    async def async_answer(prompt: str) -> str:
        await asyncio.sleep(0)
        return anchor_reply(prompt, frozenset({"math"}))

    def flaky(prompt: str) -> dict:
        if "\nJ) " in prompt:
            raise TimeoutError("provider timed out")
        return {"text": "The answer is (A)", "input_tokens": 100, "output_tokens": 5}

    sync = asyncio.run(aprofile_model(fresh, spec("async"), async_answer, ANCHORS, fit=False))
    assert sync.scored == 14 and sync.mean_score == pytest.approx(1 / 14)
    report = profile_model(fresh, spec("flaky"), flaky, ANCHORS, fit=False)
    ten_option = sum("\nJ) " in a.prompt for a in ANCHORS)
    assert 0 < ten_option < 14 and report.errors == ten_option and report.scored == 14 - ten_option
    assert report.total_cost_usd == pytest.approx(report.scored * spec("flaky").cost(100, 5))
    assert len(done_anchors(fresh, "flaky", ANCHORS)) == report.scored  # failed anchors are asked again on resume
    echo = profile_model(fresh, spec("echo"), MockLLM(), ANCHORS[:4], fit=False)  # echoes the prompt: no letter
    assert echo.scored == 4 and echo.mean_score == 0.0


def test_bad_settings_are_refused(fresh):
    with pytest.raises(ValueError, match="concurrency"):
        profile_model(fresh, spec("m"), SubjectExpert(), ANCHORS, concurrency=0)
    with pytest.raises(ValueError, match="max_cost"):
        profile_model(fresh, spec("m"), SubjectExpert(), ANCHORS, max_cost=0)


def test_scope_core_profiling_imports_no_framework():
    code = (
        "import sys, scope_core.cli, scope_core.profiling.profile, scope_core.profiling.lookup; "
        "print([m for m in sys.modules if m.split('.')[0] in ('langchain', 'langchain_core', 'llama_index')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
