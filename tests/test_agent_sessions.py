"""An agent's steps are one session: a LangGraph thread or a LlamaIndex agent run, priced with the prompt cache."""

from __future__ import annotations

from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_core.tracers.base import BaseTracer
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.tools import FunctionTool

from scope_core import Router
from scope_core.prompt_cache import SimulatedPromptCache
from scope_core.routing.candidate import Candidate
from scope_core.routing.sessions import SessionBook
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
from scope_llamaindex import ScopeLLM
from scope_llamaindex.testing import ScriptedLLM

TOOLS = frozenset({"tools"})
GUIDE = "You answer from the operations manual. House rules:\n" + "\n".join(
    f"Rule {i}: quote the section and the valve number, and give pressures in bar." for i in range(80)
)  # long enough to be cached from the first step


def read_manual(section: int) -> str:
    """Read a section of the operations manual."""
    return "\n".join(f"Section {section}.{i}: valve {i} opens at {i * section} bar." for i in range(60))


def steps(messages, tools):
    """Read three sections, then answer."""
    done = sum("tool" in (getattr(m, "type", None), getattr(getattr(m, "role", None), "value", None)) for m in messages)
    return (
        ("", [{"name": "read_manual", "args": {"section": done + 1}}]) if done < 3 else ("Valve 7 opens at 21 bar.", [])
    )


def router_on(store, embedder, cache: SimulatedPromptCache) -> Router:
    return Router(store, embedder=embedder, sessions=SessionBook(clock=cache.clock))


def assert_cached_steps(router: Router, session: str) -> None:
    """Every step after the first was predicted below list price on the model holding the prefix, and billed so."""
    logged = router.history(session_id=session)
    assert len(logged) == 4
    for record in logged[1:]:
        predicted, spec = record.predictions[record.model], router.models()[record.model]
        assert predicted.cost_usd < spec.cost(predicted.input_tokens, predicted.output_tokens)
        assert record.cost_usd < spec.cost(record.input_tokens, record.output_tokens)


def langgraph_agent(store, embedder):
    """A LangGraph agent over one cached Anthropic-like fake, routed; and its router."""
    cache = SimulatedPromptCache("anthropic")
    fake = ScriptedChatModel(model="claude-3-5-sonnet", reply=steps, cache=cache)
    router = router_on(store, embedder, cache)
    llm = ScopeChatModel(router=router, candidates=[Candidate.of(fake, capabilities=TOOLS)])
    return router, create_agent(llm, [tool(read_manual)], system_prompt=GUIDE)


def test_a_langgraph_thread_is_a_session(store, embedder):
    router, agent = langgraph_agent(store, embedder)
    agent.invoke({"messages": [("user", "When does valve 7 open?")]}, {"configurable": {"thread_id": "t-1"}})
    assert_cached_steps(router, "t-1")


async def test_a_llamaindex_agent_run_is_a_session(store, embedder):
    cache = SimulatedPromptCache("openai")
    fake = ScriptedLLM(model="gpt-4o", reply=steps, cache=cache)
    router = router_on(store, embedder, cache)
    llm = ScopeLLM(router=router, candidates=[Candidate.of(fake, capabilities=TOOLS)])
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(read_manual)], llm=llm, system_prompt=GUIDE)
    handler = agent.run(user_msg="When does valve 7 open?")
    await handler
    assert_cached_steps(router, handler.run_id)


class Tracer(BaseTracer):
    """A tracer that keeps nothing (LangSmith's would send the runs)."""

    def _persist_run(self, run) -> None:
        pass


def test_without_a_thread_the_run_tree_s_root_is_the_session(store, embedder):
    router, agent = langgraph_agent(store, embedder)
    agent.invoke({"messages": [("user", "When does valve 7 open?")]}, {"callbacks": [Tracer()]})
    sessions = {d.session_id for d in router.history()}
    assert len(sessions) == 1 and None not in sessions
    assert_cached_steps(router, sessions.pop())
