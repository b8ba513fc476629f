"""scope_core: pre-hoc LLM routing from how each model behaved on similar past queries."""

from .budget import BudgetExhaustedError, BudgetGovernor
from .data import Dataset, load_dataset
from .decision import Decision, Estimate, Evidence
from .embedder import CachedEmbedder, Embedder, SentenceTransformerEmbedder, as_embedder, default_embedder
from .errors import DataFormatError, EmbedderUnavailableError, NoCandidateError, ScopeError, UnknownModelError
from .estimators import Estimator, KNNEstimator, QueryContext, get_estimator
from .outcome import Outcome, text_hash
from .policy import Policy
from .router import Router
from .routing_text import Turn, routing_text
from .specs import Capability, ModelSpec
from .store import BehaviourStore

__all__ = [
    "BehaviourStore",
    "BudgetExhaustedError",
    "BudgetGovernor",
    "CachedEmbedder",
    "Capability",
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
    "as_embedder",
    "default_embedder",
    "get_estimator",
    "load_dataset",
    "routing_text",
    "text_hash",
]
