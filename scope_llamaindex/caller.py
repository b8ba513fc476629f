"""The caller's labels as LlamaIndex gives them: ``instrument_tags`` around a query or an agent run.

``with instrument_tags({"session_id": "s-1", "user": "u-7"}): agent.run(...)`` labels every routed call inside:
``session_id`` (else the agent run's ``llamaindex.run_id``) is the call's session, the other tags its metadata.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.instrumentation.dispatcher import active_instrument_tags

_RUN_ID = "llamaindex.run_id"  # set by a workflow or agent run


def caller_labels() -> dict[str, Any]:
    """``RouteOptions`` keys for the current instrument tags (session_id, metadata), those that are set."""
    tags = dict(active_instrument_tags.get() or {})
    session = tags.pop("session_id", None) or tags.pop(_RUN_ID, None)
    tags.pop(_RUN_ID, None)
    labels: dict[str, Any] = {"metadata": tags} if tags else {}
    if session is not None:
        labels["session_id"] = str(session)
    return labels
