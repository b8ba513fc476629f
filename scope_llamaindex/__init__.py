"""scope_llamaindex: ScopeLLM, a LlamaIndex LLM that routes every call pre-hoc with scope_core.

Test doubles (ScriptedLLM) live in ``scope_llamaindex.testing``, imported only where used.
"""

from scope_core.call import ROUTING_KEYS
from scope_core.candidate import Candidate
from scope_core.errors import AllCandidatesFailedError

from .candidates import llm_candidate
from .embedding import ScopeEmbedding
from .events import ScopeCallEndEvent, capture_calls
from .llm import ScopeLLM
from .messages import MODEL_KEY, RUN_KEY, SCOPE_KEY, to_turns
from .selector import ScopeSelector

__all__ = [
    "MODEL_KEY",
    "ROUTING_KEYS",
    "RUN_KEY",
    "SCOPE_KEY",
    "AllCandidatesFailedError",
    "Candidate",
    "ScopeCallEndEvent",
    "ScopeEmbedding",
    "ScopeLLM",
    "ScopeSelector",
    "capture_calls",
    "llm_candidate",
    "to_turns",
]
