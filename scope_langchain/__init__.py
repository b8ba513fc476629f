"""scope_langchain: ScopeChatModel, a LangChain chat model that routes every call with scope_core."""

from .callbacks import ScopeFeedbackHandler
from .chat_model import AllCandidatesFailedError, Candidate, ScopeChatModel
from .fakes import ScriptedChatModel
from .messages import to_turns
from .replay import ReplayChatModel, replay_candidates

__all__ = [
    "AllCandidatesFailedError",
    "Candidate",
    "ReplayChatModel",
    "ScopeChatModel",
    "ScopeFeedbackHandler",
    "ScriptedChatModel",
    "replay_candidates",
    "to_turns",
]
