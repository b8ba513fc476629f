"""Quality scores reach the store: later via router.feedback or the callback handler, or by an evaluator."""

from __future__ import annotations

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from scope_langchain import ScopeFeedbackHandler
from tests.langchain.lc_support import EASY_QUERY, HARD_QUERY, scope_model


def test_router_feedback_scores_a_call_by_its_run_id(lc_router):
    llm = scope_model(lc_router)
    reply = llm.invoke(EASY_QUERY)
    run_id = reply.response_metadata["scope"]["run_id"]
    llm.flush()
    lc_router.feedback(run_id, 0.25)
    assert lc_router.store.outcome(run_id)["s"] == 0.25


def test_model_feedback_is_queued_after_the_record_of_the_call(lc_router):
    llm = scope_model(lc_router)
    reply = llm.invoke(HARD_QUERY)
    llm.feedback(reply.response_metadata["scope"]["run_id"], 0.75)  # no flush needed before
    llm.flush()
    assert lc_router.store.outcome(reply.response_metadata["scope"]["run_id"])["s"] == 0.75


def test_handler_collects_the_routed_calls_of_a_chain_and_scores_them(lc_router):
    llm = scope_model(lc_router)
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | llm | StrOutputParser()
    handler = ScopeFeedbackHandler(lc_router)
    chain.batch([{"q": EASY_QUERY}, {"q": HARD_QUERY}], config={"callbacks": [handler]})
    assert len(handler.run_ids) == 2
    handler.feedback(1.0)
    llm.flush()
    assert [lc_router.store.outcome(r)["s"] for r in handler.run_ids] == [1.0, 1.0]


def test_handler_evaluator_scores_each_reply(lc_router):
    llm = scope_model(lc_router)
    handler = ScopeFeedbackHandler(lc_router, evaluator=lambda reply: 1.0 if "[cheap]" in reply.text else 0.0)
    reply = llm.invoke(EASY_QUERY, alpha=0.0, config={"callbacks": [handler]})
    llm.flush()
    assert lc_router.store.outcome(reply.response_metadata["scope"]["run_id"])["s"] == 1.0


def test_model_evaluator_scores_in_the_outcome_record(lc_router):
    llm = scope_model(lc_router, evaluator=lambda messages, reply: 0.0 if "[strong]" in reply.text else 0.5)
    reply = llm.invoke(HARD_QUERY, model="strong")
    llm.flush()
    assert lc_router.store.outcome(reply.response_metadata["scope"]["run_id"])["s"] == 0.0
