"""scope_llamaindex: ScopeLLM, a LlamaIndex LLM that routes every call pre-hoc with scope_core."""

from .candidates import Candidate
from .embedding import ScopeEmbedding
from .events import OutcomeRecorder, ScopeCallEndEvent, capture_calls
from .llm import ROUTING_KWARGS, ScopeLLM
from .messages import MODEL_KEY, RUN_KEY, to_turns
from .selector import ScopeSelector

__all__ = [
    "MODEL_KEY",
    "ROUTING_KWARGS",
    "RUN_KEY",
    "Candidate",
    "OutcomeRecorder",
    "ScopeCallEndEvent",
    "ScopeEmbedding",
    "ScopeLLM",
    "ScopeSelector",
    "capture_calls",
    "to_turns",
]
