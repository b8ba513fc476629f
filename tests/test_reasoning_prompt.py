"""The reasoning estimator's SCOPE prompt (golden files), its token budgets, and parsing of LLM replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from scope_core.estimators.reasoning.parse import LOOSE, PARTIAL, STRICT, parse_prediction
from scope_core.estimators.reasoning.prompt import ELISION, build_prompt, examples_for, truncate
from scope_core.text.tokens import count_tokens

from .reasoning_support import neighbourhood

GOLDEN = Path(__file__).parent / "golden"
LONG = "Read the passage. " + "The quick brown fox jumps over the lazy dog. " * 80 + "Which animal is lazy?"

# n_scored, score_sum, n_usage, out_sum, in_sum, cost_sum
NB = neighbourhood(
    [
        ("p1", 0.93, {"m": [1, 1.0, 1, 12, 30, 0], "other": [1, 0.0, 1, 99, 30, 0]}),
        ("p2", 0.91, {"other": [1, 1.0, 1, 5, 30, 0]}),  # m never answered it: skipped
        ("p3", 0.88, {"m": [2, 1.0, 2, 300, 60, 0]}),  # mean score 0.5 counts as correct, mean length 150
        ("p4", 0.85, {"m": [1, 0.0, 1, 7, 30, 0]}),  # no stored text: skipped
        ("p5", 0.80, {"m": [1, 0.0, 0, 0, 0, 0]}),  # scored but no usage: the default length
        ("p6", 0.75, {"m": [3, 1.0, 3, 30, 90, 0]}),
        ("p7", 0.70, {"m": [1, 1.0, 1, 40, 30, 0]}),
        ("p8", 0.60, {"m": [1, 1.0, 1, 50, 30, 0]}),  # beyond k=5
    ]
)
TEXTS = {"p1": "What is 2 + 2?", "p2": "Hello", "p3": LONG, "p4": "", "p5": "Name a prime.", "p6": "Say hi.",
         "p7": "Spell cat.", "p8": "Count to 3."}  # fmt: skip


def golden(name: str, text: str) -> None:
    assert text == (GOLDEN / name).read_text(), f"prompt differs from tests/golden/{name}"


def test_prompt_in_scope_format_matches_the_golden_file():
    examples = examples_for(NB, "m", TEXTS, 5, default_length=64, budget=32)
    assert [e.prompt_id for e in examples] == ["p1", "p3", "p5", "p6", "p7"]
    assert [(e.length, e.correct) for e in examples] == [(12, True), (150, True), (64, False), (10, False), (40, True)]
    golden("reasoning_prompt.txt", build_prompt("vendor/model-x", examples, "Is 7 prime?"))
    golden("reasoning_prompt_no_cot.txt", build_prompt("vendor/model-x", examples, "Is 7 prime?", no_cot=True))


def test_questions_are_cut_to_their_token_budget_keeping_head_and_tail():
    cut = truncate(LONG, 40)
    assert cut.startswith("Read the passage.") and cut.endswith("Which animal is lazy?") and ELISION in cut
    assert count_tokens(cut) <= 40 + count_tokens(ELISION) + 2
    assert truncate("short", 40) == "short"
    prompt = build_prompt("m", [], LONG, budget=50)
    assert LONG not in prompt and "Which animal is lazy?" in prompt


@pytest.mark.parametrize(
    ("reply", "length", "correct", "probability", "confidence"),
    [
        ("Analysis: easy.\nPredicted Performance: {len: 120, correct: yes}", 120, True, None, STRICT),
        ("Analysis: hard.\n\nPredicted Performance: {len: 900, correct: NO}\n", 900, False, None, STRICT),
        ("probability: 0.7\nPredicted Performance: {len: 80, correct: yes}", 80, True, 0.7, STRICT),
        ("Analysis: close call (confidence: 65%).\nPredicted Performance: {len: 40, correct: no}", 40, False, 0.65, STRICT),
        ('```json\n{"len": 1,234, "correct": "yes"}\n```', 1234, True, None, LOOSE),
        ("**Predicted Performance:** {len: 55, correct: yes} - that is my answer.", 55, True, None, LOOSE),
        ("Predicted Performance: {length: 300, correctness: false}", 300, False, None, LOOSE),
        ("The model was correct: no on 3 anchors.\nPredicted Performance: {len: 10, correct: yes}\nDone.", 10, True, None, LOOSE),
        ("Analysis: it will get it right. correct: yes", None, True, None, PARTIAL),
        ("Predicted Performance: {len: 512, correct: ", 512, None, None, PARTIAL),
        ("p_correct = 0.9", None, None, 0.9, PARTIAL),
    ],
)  # fmt: skip
def test_replies_parse_with_their_confidence(reply, length, correct, probability, confidence):
    got = parse_prediction(reply)
    assert got is not None
    assert (got.length, got.correct, got.probability, got.confidence) == (length, correct, probability, confidence)


def test_stated_probability_wins_over_yes_no():
    assert parse_prediction("probability: 0.3\nPredicted Performance: {len: 5, correct: yes}").p_correct == 0.3
    assert parse_prediction("Predicted Performance: {len: 5, correct: yes}").p_correct == 1.0
    assert parse_prediction("Predicted Performance: {len: 5, correct: no}").p_correct == 0.0
    assert parse_prediction("Predicted Performance: {len: 5, correct:").p_correct is None


@pytest.mark.parametrize("reply", ["", "I cannot help with that.", "len is unknown, correctness unclear", "{}"])
def test_garbage_parses_to_nothing(reply):
    assert parse_prediction(reply) is None
