import pytest

from scope_core.profiling import graders


@pytest.mark.parametrize(
    "reply",
    ["The answer is (C)", "C)", "**C**", "Answer: c", "(C) because ...", "After thinking, the answer is C.", "C"],
)
def test_letter_forms(reply):
    assert graders.extract_letter(reply) == "C"
    assert graders.multiple_choice(reply, "C") == 1.0
    assert graders.multiple_choice(reply, "B") == 0.0


def test_no_letter():
    assert graders.extract_letter("I am not sure about this one") is None


@pytest.mark.parametrize("letter", "ABCDEFGHIJ")
@pytest.mark.parametrize("form", ["The answer is ({})", "{})", "**{}**", "Answer: {}"])
def test_any_letter(letter, form):
    assert graders.extract_letter(form.format(letter.lower() if "Answer" in form else letter)) == letter


def test_exact_regex_judge():
    assert graders.exact_match(" Paris ", "paris") == 1.0
    assert graders.exact_match("Lyon", "paris") == 0.0
    g = graders.regex(r"\b{gold}\b")
    assert g("it is 42.", "42") == 1.0 and g("it is 420", "42") == 0.0
    j = graders.judge(lambda prompt: "yes" if "Reply: 4\n" in prompt else "no")
    assert j("4", "four") == 1.0 and j("5", "four") == 0.0
