"""scope_llamaindex: ScopeLLM, a LlamaIndex LLM that routes every call pre-hoc with scope_core.

Test doubles (ScriptedLLM) live in ``scope_llamaindex.testing``, imported only where used.
"""

from scope_core.errors import AllCandidatesFailedError
from scope_core.routing.candidate import Candidate
from scope_llamaindex.candidates import llm_candidate
from scope_llamaindex.embedding import ScopeEmbedding
from scope_llamaindex.events import ScopeCallEndEvent, capture_calls
from scope_llamaindex.llm import ScopeLLM
from scope_llamaindex.messages import MODEL_KEY, RUN_KEY, SCOPE_KEY, to_turns
from scope_llamaindex.selector import ScopeSelector

__all__ = [
    "MODEL_KEY",
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
