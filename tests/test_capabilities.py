"""Capabilities are declared (ModelSpec, models.json) or looked up (a LangChain profile, models.dev's catalogue, what a
bare model object shows); the "lacks tools" error says how to declare them; registered prices come first."""

from __future__ import annotations

import gzip
import json

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool
from llama_index.core.tools import FunctionTool

from scope_core import Capability, ModelSpec, NoCandidateError, Router, load_dataset
from scope_core.errors import DataFormatError
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
from scope_llamaindex import ScopeLLM
from scope_llamaindex.testing import ScriptedLLM

from .conftest import GREET, record_scores

TOOLS = frozenset({Capability.TOOLS})


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return "4"


def _folder(tmp_path, models_json: dict):
    """A data folder: two prompts answered by gpt-4-1106-preview and a local model, with this models.json."""
    with gzip.open(tmp_path / "prompts.csv.gz", "wt") as fh:
        fh.write("prompt_id,task,prompt\np1,t,What is 2 + 2?\np2,t,Name a prime number.\n")
    with gzip.open(tmp_path / "outcomes.csv.gz", "wt") as fh:
        fh.write("prompt_id,model,score,input_tokens,output_tokens,cost_usd\n")
        for p in ("p1", "p2"):
            fh.write(f"{p},gpt-4-1106-preview,1,10,20,0.0007\n{p},local-llm,0,10,20,0.00001\n")
    (tmp_path / "models.json").write_text(json.dumps(models_json))
    return tmp_path


def test_data_set_models_get_capabilities_declared_or_looked_up(tmp_path):
    specs = load_dataset(_folder(tmp_path, {"capabilities": {"local-llm": ["tools", "vision"]}})).specs
    assert specs["local-llm"].capabilities == {Capability.TOOLS, Capability.VISION}  # declared in models.json
    assert Capability.TOOLS in specs["gpt-4-1106-preview"].capabilities  # looked up in models.dev's catalogue
    with pytest.raises(DataFormatError, match="field 'local-llm': capabilities must be a list of tools"):
        load_dataset(_folder(tmp_path, {"capabilities": {"local-llm": ["telepathy"]}}))


def test_an_ingest_gives_registered_models_without_capabilities_the_data_sets(router: Router, tmp_path):
    router.register_model(ModelSpec(name="local-llm", input_price=0.3, output_price=0.6))
    router.ingest(load_dataset(_folder(tmp_path, {"capabilities": {"local-llm": ["tools"]}})), progress=False)
    assert router.models()["local-llm"] == ModelSpec(
        name="local-llm", input_price=0.3, output_price=0.6, capabilities=TOOLS
    )


def test_lacking_a_capability_says_how_to_declare_it(router: Router):
    with pytest.raises(NoCandidateError, match=r"small: lacks vision.*Declare what a model can do: ModelSpec"):
        router.route("Describe this picture", required={"vision"})


def test_a_bare_chat_model_that_binds_tools_can_serve_an_agent(router: Router):
    record_scores(router, GREET, {"small": 1.0})
    router.register_model(ModelSpec(name="mathbot", input_price=0.2, output_price=0.4))  # registered, no price known
    llm = ScopeChatModel(candidates=[ScriptedChatModel(model="mathbot")], router=router)
    assert llm.candidates[0].spec == ModelSpec(name="mathbot", input_price=0.2, output_price=0.4, capabilities=
        frozenset({Capability.TOOLS, Capability.STRUCTURED_OUTPUT}))  # fmt: skip
    result = create_agent(llm, tools=[calculator]).invoke({"messages": [("user", "Use the calculator on 2 + 2")]})
    assert result["messages"][-1].response_metadata["scope"]["model"] == "mathbot"


def test_a_bare_llamaindex_llm_that_calls_functions_is_tool_capable(router: Router):
    router.register_model(ModelSpec(name="mathbot", input_price=0.2, output_price=0.4))
    llm = ScopeLLM(candidates=[ScriptedLLM(model="mathbot")], router=router)
    assert llm.candidates[0].spec.capabilities == TOOLS and llm.candidates[0].spec.input_price == 0.2
    response = llm.chat_with_tools([FunctionTool.from_defaults(fn=lambda expression: "4", name="calc")], "calc 2+2")
    assert response.additional_kwargs["scope_model"] == "mathbot"
