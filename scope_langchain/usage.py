"""Token usage of a call: the candidate's ``usage_metadata``, or an offline count when it reports none."""

from __future__ import annotations

import json
from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, get_buffer_string
from langchain_core.messages.ai import UsageMetadata

from scope_core.tokens import count_tokens


def output_text(message: AIMessage) -> str:
    """What a reply spent output tokens on: its text and its tool calls."""
    calls = [json.dumps({"name": c["name"], "args": c["args"]}, ensure_ascii=False) for c in message.tool_calls]
    return "\n".join([message.text, *calls])


def counted_usage(messages: Sequence[BaseMessage], reply: AIMessage) -> UsageMetadata:
    """Usage counted with the cl100k tokenizer (used when the candidate reports none)."""
    input_tokens = count_tokens(get_buffer_string(list(messages)))
    output_tokens = count_tokens(output_text(reply))
    return UsageMetadata(
        input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens
    )


def usage_of(messages: Sequence[BaseMessage], reply: AIMessage) -> UsageMetadata:
    """The reply's own usage when it has any, else a local count."""
    usage = reply.usage_metadata
    if usage and (usage.get("input_tokens") or usage.get("output_tokens")):
        return usage
    return counted_usage(messages, reply)
