"""A cached step through ScopeChatModel is recorded at what the provider bills: genai-prices' price of its usage."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from scope_core.prompt_cache import SimulatedPromptCache
from scope_core.routing.call import Usage
from scope_core.routing.candidate import Candidate
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
from scope_langchain.usage import reported
from tests.cache_support import MANUAL, billed
from tests.langchain.lc_support import new_router


@pytest.mark.parametrize(("model", "provider"), [("claude-3-5-sonnet", "anthropic"), ("gpt-4o", "openai")])
def test_a_cached_step_is_recorded_at_the_genai_prices_price(model, provider):
    router = new_router()
    fake = ScriptedChatModel(model=model, cache=SimulatedPromptCache(provider))
    llm = ScopeChatModel(router=router, candidates=[Candidate.of(fake, provider=provider)])
    first = [SystemMessage(MANUAL), HumanMessage("At what pressure does the valve on line 7 open?")]
    reply = llm.invoke(first)
    later = llm.invoke([*first, reply, HumanMessage("And when does the valve on line 9 close?")])
    llm.flush()
    record = router.store.outcome(later.response_metadata["scope"]["run_id"])
    assert record["cr"] > 1000  # the manual came from the cache
    assert record["c"] == pytest.approx(billed(record, model, provider), rel=1e-6)
    assert later.response_metadata["scope"]["cost_usd"] == pytest.approx(record["c"], rel=1e-6)
    assert record["c"] < router.models()[model].cost(record["it"], record["ot"])  # below the list price


@pytest.mark.parametrize(
    ("details", "cache"),
    [
        ({"cache_read": 9000, "cache_creation": 0}, (9000, 0)),
        (
            {
                "cache_read": 5000,
                "cache_creation": 0,
                "ephemeral_5m_input_tokens": 3000,
                "ephemeral_1h_input_tokens": 1000,
            },
            (5000, 4000),
        ),
        ({"cache_read": 5000, "cache_creation": 4000, "ephemeral_5m_input_tokens": 4000}, (5000, 4000)),
        ({"audio": 0, "priority_cache_read": 9000, "priority": 1000}, (9000, None)),
        ({}, (None, None)),
    ],
)
def test_input_token_details_as_langchain_integrations_write_them(details, cache):
    usage = {"input_tokens": 10_000, "output_tokens": 500, "total_tokens": 10_500, "input_token_details": details}
    assert reported(AIMessage(content="ok", usage_metadata=usage)) == Usage(10_000, 500, *cache)
