"""LangChain's standard chat model conformance suites, run on ScopeChatModel over scripted candidates."""

from __future__ import annotations

from functools import cache
from typing import Any

from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from scope_core import Router
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
from tests.langchain.lc_support import CHEAP, STRONG, seeded_router


@cache
def _router() -> Router:
    return seeded_router()


def _candidates() -> list[tuple[ScriptedChatModel, Any]]:
    return [(ScriptedChatModel(model=spec.name), spec) for spec in (CHEAP, STRONG)]


class _ScopeParams:
    @property
    def chat_model_class(self) -> type[ScopeChatModel]:
        return ScopeChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"candidates": _candidates(), "router": _router()}

    @property
    def model_override_value(self) -> str:
        return "strong"


class TestScopeChatModelUnit(_ScopeParams, ChatModelUnitTests):
    @property
    def init_from_env_params(self) -> tuple[dict, dict, dict]:
        return {"SCOPE_STORE": ":memory:"}, {"candidates": _candidates()}, {"location": ":memory:"}


class TestScopeChatModelIntegration(_ScopeParams, ChatModelIntegrationTests):
    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True  # provider-format histories (thinking and tool_use blocks) are passed on intact
