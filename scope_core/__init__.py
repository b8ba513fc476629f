"""scope_core: pre-hoc LLM routing from how each model behaved on similar past queries."""

from .budget import BudgetExhaustedError, BudgetGovernor
from .candidate import Candidate
from .data import Dataset, load_dataset
from .decision import Decision, Estimate, Evidence
from .embedder import CachedEmbedder, Embedder, SentenceTransformerEmbedder, as_embedder, default_embedder
from .errors import (
    AllCandidatesFailedError,
    ColdStartWarning,
    DataFormatError,
    EmbedderUnavailableError,
    NoCandidateError,
    ScopeError,
    UnknownModelError,
    UnknownRunError,
)
from .estimators import Estimator, KNNEstimator, QueryContext, get_estimator
from .outcome import Outcome, text_hash
from .policy import Policy
from .router import Router
from .routing_text import Turn, routing_text
from .spec_lookup import spec_for
from .specs import Capability, ModelSpec
from .store import BehaviourStore

__all__ = [
    "AllCandidatesFailedError",
    "BehaviourStore",
    "BudgetExhaustedError",
    "BudgetGovernor",
    "CachedEmbedder",
    "Candidate",
    "Capability",
    "ColdStartWarning",
    "DataFormatError",
    "Dataset",
    "Decision",
    "Embedder",
    "EmbedderUnavailableError",
    "Estimate",
    "Estimator",
    "Evidence",
    "KNNEstimator",
    "ModelSpec",
    "NoCandidateError",
    "Outcome",
    "Policy",
    "QueryContext",
    "Router",
    "ScopeError",
    "SentenceTransformerEmbedder",
    "Turn",
    "UnknownModelError",
    "UnknownRunError",
    "as_embedder",
    "default_embedder",
    "get_estimator",
    "load_dataset",
    "routing_text",
    "spec_for",
    "text_hash",
]
