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


def _cache(details: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """(cache reads, cache writes) of LangChain's ``input_token_details`` (None: not reported).

    Reads are ``cache_read`` (``{tier}_cache_read`` under an OpenAI service tier); writes ``cache_creation``, or
    where that is 0 its split into ``ephemeral_5m/1h_input_tokens`` (langchain-anthropic 1.7 moves them there)."""
    reads = [v for k, v in details.items() if (k == "cache_read" or k.endswith("_cache_read")) and v is not None]
    split = [v for k in ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens") if (v := details.get(k))]
    created = details.get("cache_creation")
    writes = created if created or not split else sum(split)
    return (sum(reads) if reads else None), writes


def reported(message: AIMessage) -> Usage:
    """The tokens the candidate reported (None where it reported none: the router counts them), with the cache
    reads and writes its ``input_token_details`` tell (``input_tokens`` includes them, as LangChain counts)."""
    usage = message.usage_metadata
    if not usage or not (usage.get("input_tokens") or usage.get("output_tokens")):
        return Usage()
    read, write = _cache(usage.get("input_token_details") or {})
    return Usage(usage.get("input_tokens") or None, usage.get("output_tokens"), read, write)


def counted(scope: Mapping[str, Any]) -> UsageMetadata:
    """A reply's usage from the call's metadata (for a candidate that reported none)."""
    in_tok, out_tok = scope["input_tokens"], scope["output_tokens"]
    return UsageMetadata(input_tokens=in_tok, output_tokens=out_tok, total_tokens=in_tok + out_tok)
