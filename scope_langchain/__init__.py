"""scope_langchain: ScopeChatModel, a LangChain chat model that routes every call with scope_core.

Test doubles (ScriptedChatModel) live in ``scope_langchain.testing``, imported only where used.
"""

from scope_core.candidate import Candidate
from scope_core.errors import AllCandidatesFailedError

from .callbacks import ScopeFeedbackHandler
from .chat_model import ScopeChatModel
from .messages import to_turns
from .replay import ReplayChatModel, replay_candidates

__all__ = [
    "AllCandidatesFailedError",
    "Candidate",
    "ReplayChatModel",
    "ScopeChatModel",
    "ScopeFeedbackHandler",
    "replay_candidates",
    "to_turns",
]
