"""A cached step through ScopeLLM is recorded at what the provider bills, whichever provider's usage shape it has."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse

from scope_core.prompt_cache import SimulatedPromptCache
from scope_core.routing.call import Usage
from scope_core.routing.candidate import Candidate
from scope_llamaindex import ScopeLLM
from scope_llamaindex.testing import ScriptedLLM
from scope_llamaindex.usage import reported_usage
from tests.cache_support import MANUAL, billed


@pytest.mark.parametrize(
    ("model", "provider", "style"),
    [
        ("claude-3-5-sonnet", "anthropic", "anthropic"),
        ("gpt-4o", "openai", "openai"),
        ("gemini-2.5-flash", "google", "gemini"),
    ],
)
def test_a_cached_step_is_recorded_at_the_genai_prices_price(router, model, provider, style):
    fake = ScriptedLLM(model=model, cache=SimulatedPromptCache(style))
    llm = ScopeLLM(router=router, candidates=[Candidate.of(fake, provider=provider)])
    first = [ChatMessage(role="system", content=MANUAL), ChatMessage(role="user", content="When does line 7 open?")]
    reply = llm.chat(first)
    later = llm.chat([*first, reply.message, ChatMessage(role="user", content="And when does line 9 close?")])
    llm.flush()
    record = router.store.outcome(later.additional_kwargs["scope_run_id"])
    assert record["cr"] > 1000
    assert record["c"] == pytest.approx(billed(record, model, provider), rel=1e-6)
    assert record["c"] < router.models()[model].cost(record["it"], record["ot"])


ANTHROPIC = SimpleNamespace(  # an anthropic.types.Usage: LlamaIndex keeps it as an object inside raw
    input_tokens=1000, cache_read_input_tokens=8000, cache_creation_input_tokens=1000, output_tokens=500
)


@pytest.mark.parametrize(
    ("response", "usage"),
    [
        ({"raw": {"usage": ANTHROPIC}}, Usage(10_000, 500, 8000, 1000)),
        (
            {
                "raw": {
                    "usage": {
                        "prompt_tokens": 10_000,
                        "completion_tokens": 500,
                        "prompt_tokens_details": {"cached_tokens": 9000},
                    }
                },
                "additional_kwargs": {
                    "prompt_tokens": 10_000,
                    "completion_tokens": 500,
                },  # LlamaIndex's, cache left out
            },
            Usage(10_000, 500, 9000, None),
        ),
        (
            {"raw": {"usage": {"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": None}}},
            Usage(10, 5, None, None),
        ),
        (
            {
                "additional_kwargs": {
                    "usage": SimpleNamespace(
                        input_tokens=10_000,
                        output_tokens=5,
                        input_tokens_details=SimpleNamespace(cached_tokens=4000, cache_write_tokens=0),
                    )
                }
            },
            Usage(10_000, 5, 4000, 0),
        ),
        (
            {
                "raw": {
                    "usage_metadata": {
                        "prompt_token_count": 10_000,
                        "cached_content_token_count": 9000,
                        "candidates_token_count": 300,
                        "thoughts_token_count": 200,
                    }
                }
            },
            Usage(10_000, 500, 9000, None),
        ),
        ({"raw": {"usage": {"input_tokens": 40, "output_tokens": 20}}}, Usage(40, 20)),
        ({}, Usage()),
    ],
    ids=["anthropic", "openai", "openai-no-details", "openai-responses", "gemini", "plain", "none"],
)
def test_provider_usage_shapes(response, usage):
    assert reported_usage(ChatResponse(message=ChatMessage(role="assistant", content="ok"), **response)) == usage
