"""What a bare chat model shows it can do, for a candidate whose capabilities no profile or catalogue gives."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from scope_core import Capability


def shown_capabilities(model: Any) -> frozenset[Capability]:
    """Tool calling if its class implements ``bind_tools``, native structured output if it implements
    ``with_structured_output`` (BaseChatModel's own versions support neither)."""
    if not isinstance(model, BaseChatModel):
        return frozenset()
    kind = type(model)
    tools = {Capability.TOOLS} if kind.bind_tools is not BaseChatModel.bind_tools else set()
    native = kind.with_structured_output is not BaseChatModel.with_structured_output
    return frozenset(tools | ({Capability.STRUCTURED_OUTPUT} if native else set()))
