"""Routing text rules shared by the adapters."""

from __future__ import annotations

import pytest

from scope_core.text.turns import Turn, focus, routing_text

CHAT = [
    Turn("system", "You are helpful."),
    Turn("user", "What's the weather in Paris?"),
    Turn("assistant", "", tool_calls=("weather",)),
    Turn("tool", "18C and sunny"),
]


def test_first_step_routes_on_the_last_user_message():
    assert routing_text(CHAT[:2]) == "What's the weather in Paris?"


def test_later_steps_add_the_latest_tool_results():
    text = routing_text(CHAT)
    assert text.startswith("What's the weather in Paris?") and text.endswith("18C and sunny")
    assert routing_text(CHAT, mode="last_user") == "What's the weather in Paris?"
    assert "You are helpful" not in routing_text(CHAT, mode="conversation")


def test_empty_conversation_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        routing_text([])


def test_focus_keeps_the_final_question_of_a_few_shot_prompt():
    shots = "\n\n".join(f"Example question {i}?\nAnswer: {i}" for i in range(60))
    prompt = shots + "\n\nWhich planet is largest?\nA) Mars\nB) Jupiter\nAnswer:"
    kept = focus(prompt, max_chars=300, min_chars=40)
    assert kept.endswith("Answer:") and "Which planet is largest?" in kept
    assert len(kept) <= 300
    assert focus("short prompt") == "short prompt"
