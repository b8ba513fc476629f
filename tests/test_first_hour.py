"""A new user's first hour, in order, through the public API and the CLI, with the user's own fakes (no API key):
install check, the demo on its own store, a route with every README option, profiling two models (a dry run without
a key, a real run, a redo), a LangChain agent with tools over bare chat models, a LlamaIndex agent, feedback, the
report."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool
from llama_index.core.agent.workflow import FunctionAgent
from typer.testing import CliRunner

from scope_core import BudgetGovernor, ModelSpec, Router, load_dataset
from scope_core.cli import app
from scope_core.profiling.anchors import shipped_anchors
from scope_core.profiling.lookup import spec_for
from scope_core.profiling.profile import profile_model
from scope_langchain import ScopeChatModel, ScopeFeedbackHandler
from scope_llamaindex import ScopeLLM
from scope_llamaindex.testing import ScriptedLLM

from .conftest import data_path
from .fake_models import SubjectExpert
from .test_cli import workdir  # noqa: F401  (the fixture: a long CSV of outcomes, cwd = tmp_path)

ROOT = Path(__file__).resolve().parents[1]
SCIENCE = frozenset({"math", "physics", "chemistry", "engineering", "computer science"})
HUMANITIES = frozenset({"law", "history", "philosophy", "psychology", "economics"})
runner = CliRunner()


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return str(eval(expression, {"__builtins__": {}}))


def get_weather(city: str) -> str:
    """Today's weather report for a city."""
    return f"Weather report for {city}: 18 degrees, light rain."


def scope(*args: object, code: int = 0) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


@pytest.mark.data
def test_a_new_users_first_hour(workdir, monkeypatch, embedder):  # noqa: F811
    monkeypatch.setenv("HOME", str(workdir))
    monkeypatch.setenv("SCOPE_STORE", str(workdir / "mine"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    # 1. install check: the command runs, and the Makefile names no missing file and gives the demo a light install
    assert "demo" in scope("--help") and "models" in scope("--help")
    makefile = (ROOT / "Makefile").read_text()
    assert all((ROOT / name).exists() for name in re.findall(r"[\w./-]+\.md", makefile)), "a file the Makefile names"
    demo_rule = next(line for line in makefile.splitlines() if line.startswith("demo:"))
    assert "install-dev" not in demo_rule and ".[dev]" not in makefile.split("install-dev")[0]

    # 2. the demo, on its own store: the user's default store stays empty
    out = scope("demo", "--data", "outcomes.csv", "--n", "6")
    assert "its own store" in out and "alpha weighs accuracy against cost" in " ".join(out.split())
    assert not (workdir / "mine").exists()

    # 3. the README's routes, on part of RouterBench ingested into the user's own store
    router = Router(embedder=embedder)  # the default store: $SCOPE_STORE here
    bench = load_dataset(data_path("routerbench-3k"))
    router.ingest(bench.subset([p.id for p in bench.prompts[:200]]), progress=False)
    router.register_model(ModelSpec(name="my-model", input_price=0.5, output_price=1.5, capabilities={"tools"}))
    decision = router.route("Which planet has the most moons?", alpha=0.8)
    assert decision.chosen in router.models() and decision.reason and len(repr(decision)) < 2000
    assert router.route("Which planet has the most moons?", min_accuracy=0.9).chosen in router.models()
    tools = router.route("Look up the weather in Oslo", max_cost=0.002, required={"tools"})
    assert "tools" in {c.value for c in router.models()[tools.chosen].capabilities}
    assert router.route("2 + 2?", allowed=["claude-v2", "my-model"]).chosen in {"claude-v2", "my-model"}
    assert router.route("2 + 2?", model="claude-v2").chosen == "claude-v2"
    assert router.route([{"role": "user", "content": "2 + 2?"}], cost_share=0.3).reason.endswith("cost_share 0.3")
    governor = BudgetGovernor(0.05, 10)
    assert router.route("2 + 2?", budget=governor).reserved_usd > 0 and "BudgetGovernor(budget=$0.050" in repr(governor)
    router.store.drop()

    # 4. profile two models: a dry run without any key, a real run with the user's fakes, a redo
    store = workdir / "agents"
    dry = scope("profile", "--model", "openai:gpt-4o-mini", "--model", "anthropic:claude-3-5-haiku-latest",
                "--dry-run", "--anchors", "14", "--store", store)  # fmt: skip
    assert "gpt-4o-mini" in dry and "claude-3-5" in dry and "The answer is (X)" in " ".join(dry.split())
    router = Router.open(str(store), embedder=embedder)
    models = {  # bare chat models: no LangChain profile, only their names and a bind_tools
        "gpt-4o-mini": SubjectExpert(model_name="gpt-4o-mini", known=HUMANITIES),
        "claude-3-5-haiku-latest": SubjectExpert(model_name="claude-3-5-haiku-latest", known=SCIENCE),
    }
    anchors = shipped_anchors(14)
    for name, model in models.items():
        assert profile_model(router, spec_for(name), model, anchors).scored == 14
    redo = profile_model(router, spec_for("gpt-4o-mini"), models["gpt-4o-mini"], anchors, redo=True)
    assert (redo.answered, redo.skipped) == (14, 0)

    # 5. a LangChain agent with tools over the bare chat models
    llm = ScopeChatModel(candidates=list(models.values()), router=router, alpha=1.0)
    handler = ScopeFeedbackHandler(router)
    result = create_agent(llm, tools=[calculator]).invoke(
        {"messages": [("user", "A ball is thrown up at 12 m/s; how high does it rise (g = 9.8)?")]},
        config={"callbacks": [handler]},
    )
    assert result["messages"][-1].response_metadata["scope"]["model"] == "claude-3-5-haiku-latest"

    # 6. a LlamaIndex agent over bare LLMs (a function-calling one is tool-capable as it is)
    router.register_model(ModelSpec(name="planner", input_price=0.2, output_price=0.4))
    planner = ScriptedLLM(model="planner", reply=lambda messages, tools: (
        (f"Here you go. {messages[-1].content}", []) if messages[-1].role.value == "tool"
        else ("", [{"name": "get_weather", "args": {"city": "Lisbon"}}])
    ))  # fmt: skip
    agent = FunctionAgent(tools=[get_weather], llm=ScopeLLM(candidates=[planner], router=router))

    async def run() -> str:
        return str(await agent.run(user_msg="What is the weather in Lisbon today?"))

    assert "Weather report for Lisbon" in asyncio.run(run())

    # 7. feedback: every routed call of the LangChain run is scored
    scored = handler.feedback(1.0)
    router.flush()
    assert scored and all(router.store.outcome(run_id)["s"] == 1.0 for run_id in scored)

    # 8. the report of what was routed (`scope report`; landed on main during this work, merged here)
    report = router.report()
    assert report.answered == 3 and report.scored == 1  # the LangChain run (scored), the LlamaIndex run's 2 calls
    assert {"claude-3-5-haiku-latest", "planner"} <= {line.model for line in report.models}
