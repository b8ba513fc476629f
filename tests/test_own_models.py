"""The "Your own models" path (docs/own-models.md), every offline step, with local fakes that know some subjects."""

from __future__ import annotations

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool

from scope_core import BehaviourStore, Capability, Router
from scope_core.profiling.anchors import shipped_anchors
from scope_core.profiling.lookup import spec_for
from scope_core.profiling.profile import profile_model
from scope_langchain import ScopeChatModel, ScopeFeedbackHandler

from .fake_models import SubjectExpert

PROFILE = {"tool_calling": True, "structured_output": True, "image_inputs": True, "max_input_tokens": 128_000}
SCIENCE = frozenset({"math", "physics", "chemistry", "engineering", "computer science"})
HUMANITIES = frozenset({"law", "history", "philosophy", "psychology", "economics"})


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return str(eval(expression, {"__builtins__": {}}))


@pytest.fixture
def router(embedder):
    store = BehaviourStore.ephemeral()
    yield Router(store, embedder=embedder)
    store.drop()


def test_your_own_models_path_offline(router):
    # 1. two providers' models (ChatOpenAI and ChatAnthropic in the docs; fakes with their profiles here)
    models = {
        "gpt-4o-mini": SubjectExpert(model_name="gpt-4o-mini", known=HUMANITIES, profile=PROFILE),
        "claude-3-5-haiku-latest": SubjectExpert(model_name="claude-3-5-haiku-latest", known=SCIENCE, profile=PROFILE),
    }
    specs = {name: spec_for(name, model_profile=m.profile) for name, m in models.items()}
    assert specs["gpt-4o-mini"].input_price == 0.15 and specs["claude-3-5-haiku-latest"].output_price == 4.0
    assert all(Capability.TOOLS in s.capabilities for s in specs.values())  # agents with tools can use them
    # 2. profile them on the shipped anchors
    anchors = shipped_anchors(14)  # one per subject (the docs profile on all 280)
    for name, model in models.items():
        report = profile_model(router, specs[name], model, anchors, max_cost=1.0)
        assert report.scored == 14 and report.total_cost_usd < 1.0
    # 3. a LangGraph agent routing between them, a callback collecting its routed calls
    llm = ScopeChatModel(candidates=[(models[n], specs[n]) for n in models], router=router, alpha=1.0)
    agent = create_agent(llm, tools=[calculator])
    handler = ScopeFeedbackHandler(router)
    chosen = {}
    for topic, question in {
        "science": "A ball is thrown upward at 12 m/s. How high does it rise before falling back (g = 9.8 m/s^2)?",
        "law": "Can a contract signed under duress be voided by the party who was coerced?",
    }.items():
        result = agent.invoke({"messages": [("user", question)]}, config={"callbacks": [handler]})
        chosen[topic] = result["messages"][-1].response_metadata["scope"]["model"]
    assert chosen == {"science": "claude-3-5-haiku-latest", "law": "gpt-4o-mini"}
    # 4. feedback: score the runs; the outcomes carry it
    scored = handler.feedback(1.0)
    router.flush()
    assert len(scored) == 2 and all(router.store.outcome(rid)["s"] == 1.0 for rid in scored)
