"""Token usage of a reply: what the candidate reported, or the router's own counts in the call's metadata."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.messages.ai import UsageMetadata

from scope_core.routing.call import Usage


def output_text(message: AIMessage) -> str:
    """What a reply spent output tokens on: its text and its tool calls (counted when it reports no usage)."""
    calls = [json.dumps({"name": c["name"], "args": c["args"]}, ensure_ascii=False) for c in message.tool_calls]
    return "\n".join([message.text, *calls])


def reported(message: AIMessage) -> Usage:
    """The tokens the candidate reported (None where it reported none: the router counts them)."""
    usage = message.usage_metadata
    if not usage or not (usage.get("input_tokens") or usage.get("output_tokens")):
        return Usage()
    return Usage(usage.get("input_tokens") or None, usage.get("output_tokens"))


def counted(scope: Mapping[str, Any]) -> UsageMetadata:
    """A reply's usage from the call's metadata (for a candidate that reported none)."""
    in_tok, out_tok = scope["input_tokens"], scope["output_tokens"]
    return UsageMetadata(input_tokens=in_tok, output_tokens=out_tok, total_tokens=in_tok + out_tok)
