"""scope_langchain: ScopeChatModel, a LangChain chat model that routes every call with scope_core.

Test doubles (ScriptedChatModel) live in ``scope_langchain.testing``, imported only where used.
"""

from scope_core.errors import AllCandidatesFailedError
from scope_core.routing.candidate import Candidate
from scope_langchain.callbacks import ScopeFeedbackHandler
from scope_langchain.chat_model import ScopeChatModel
from scope_langchain.messages import to_turns
from scope_langchain.replay import ReplayChatModel, replay_candidates

__all__ = [
    "AllCandidatesFailedError",
    "Candidate",
    "ReplayChatModel",
    "ScopeChatModel",
    "ScopeFeedbackHandler",
    "replay_candidates",
    "to_turns",
]
