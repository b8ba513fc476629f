"""Specs looked up: prices from genai-prices (offline), capabilities and context from a LangChain profile."""

from __future__ import annotations

import pytest

from scope_core import Capability
from scope_core.profiling.lookup import UnknownModelPriceError, spec_for

from .fake_models import SubjectExpert


def test_known_models_get_their_prices_offline():
    mini = spec_for("gpt-4o-mini")
    assert (mini.input_price, mini.output_price, mini.provider) == (0.15, 0.6, "openai")
    haiku = spec_for("anthropic:claude-3-5-haiku-latest")
    assert haiku.name == "claude-3-5-haiku-latest" and haiku.provider == "anthropic"
    assert (haiku.input_price, haiku.output_price) == (0.8, 4.0)
    # tiered long-context prices: the base tier is the one a routed call pays
    assert spec_for("claude-sonnet-4-5").input_price == 3.0


def test_a_langchain_profile_gives_capabilities_and_context_window():
    model = SubjectExpert(
        profile={"tool_calling": True, "structured_output": True, "image_inputs": False, "max_input_tokens": 64_000}
    )
    spec = spec_for("gpt-4o-mini", model_profile=model.profile)
    assert spec.capabilities == {Capability.TOOLS, Capability.STRUCTURED_OUTPUT}
    assert spec.context_window == 64_000
    assert spec_for("gpt-4o-mini", model_profile={"image_inputs": True}).capabilities == {Capability.VISION}
    everything = {Capability.TOOLS, Capability.STRUCTURED_OUTPUT, Capability.VISION}
    assert spec_for("gpt-4o-mini").capabilities == everything  # no profile: models.dev's catalogue
    assert spec_for("mathbot", input_price=1, output_price=1).capabilities == frozenset()  # unknown: nothing claimed


def test_typed_values_override_looked_up_ones():
    spec = spec_for(
        "gpt-4o-mini", model_profile={"tool_calling": True, "max_input_tokens": 64_000}, input_price=0.1,
        context_window=8_000, capabilities=frozenset(), name="mini",
    )  # fmt: skip
    assert (spec.name, spec.input_price, spec.output_price) == ("mini", 0.1, 0.6)
    assert spec.context_window == 8_000 and spec.capabilities == frozenset()


def test_an_unknown_model_needs_its_prices():
    with pytest.raises(UnknownModelPriceError, match=r"'my-local-llm'.*pass input_price= and output_price="):
        spec_for("my-local-llm")
    with pytest.raises(UnknownModelPriceError, match="output_price"):
        spec_for("my-local-llm", input_price=0.0)
    local = spec_for("ollama:my-local-llm", input_price=0.0, output_price=0.0, context_window=8192)
    assert (local.name, local.provider, local.context_window) == ("my-local-llm", "ollama", 8192)


def test_a_candidate_from_a_chat_model_alone_is_looked_up(store, embedder):
    """ScopeChatModel takes bare chat models: name, prices and capabilities come from the lookup."""
    from scope_core import Router
    from scope_langchain import ScopeChatModel

    mini = SubjectExpert(model_name="gpt-4o-mini", profile={"tool_calling": True, "max_input_tokens": 64_000})
    haiku = SubjectExpert(model_name="claude-3-5-haiku-latest")
    router = Router(store, embedder=embedder, cache_ttl_s=0.0)
    chat = ScopeChatModel(router=router, candidates=[mini, haiku])
    specs = router.models()
    assert (specs["gpt-4o-mini"].input_price, specs["gpt-4o-mini"].output_price) == (0.15, 0.6)
    assert specs["gpt-4o-mini"].capabilities == {Capability.TOOLS} and specs["gpt-4o-mini"].context_window == 64_000
    assert (specs["claude-3-5-haiku-latest"].input_price, specs["claude-3-5-haiku-latest"].output_price) == (0.8, 4.0)
    assert chat.invoke("hello").response_metadata["scope"]["model"] in specs
    with pytest.raises(UnknownModelPriceError, match="input_price"):
        ScopeChatModel(router=router, candidates=[SubjectExpert(model_name="my-own-model")])
