"""scope_core: pre-hoc LLM routing from how each model behaved on similar past queries.

Nothing heavy loads on import: each name below is imported from its room on first use (``scope_core.lazy``).
"""

from typing import TYPE_CHECKING

from scope_core.lazy import lazy_exports

if TYPE_CHECKING:
    from scope_core.data.dataset import Dataset, load_dataset
    from scope_core.errors import (
        AllCandidatesFailedError,
        ColdStartWarning,
        DataFormatError,
        EmbedderUnavailableError,
        NoCandidateError,
        ScopeError,
        UnknownModelError,
        UnknownRunError,
    )
    from scope_core.estimators import Estimator, KNNEstimator, QueryContext, get_estimator
    from scope_core.estimators.estimate import Estimate, Evidence
    from scope_core.outcome import Outcome, text_hash
    from scope_core.profiling.lookup import spec_for
    from scope_core.routing.budget import BudgetExhaustedError, BudgetGovernor
    from scope_core.routing.candidate import Candidate
    from scope_core.routing.decision import Decision
    from scope_core.routing.policy import RouteOptions
    from scope_core.routing.router import Router
    from scope_core.specs import Capability, ModelSpec
    from scope_core.store.behaviour import BehaviourStore
    from scope_core.text.embedder import (
        CachedEmbedder,
        Embedder,
        SentenceTransformerEmbedder,
        as_embedder,
        default_embedder,
    )
    from scope_core.text.turns import Turn, routing_text

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
    "QueryContext",
    "RouteOptions",
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
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AllCandidatesFailedError": "scope_core.errors",
        "BehaviourStore": "scope_core.store.behaviour",
        "BudgetExhaustedError": "scope_core.routing.budget",
        "BudgetGovernor": "scope_core.routing.budget",
        "CachedEmbedder": "scope_core.text.embedder",
        "Candidate": "scope_core.routing.candidate",
        "Capability": "scope_core.specs",
        "ColdStartWarning": "scope_core.errors",
        "DataFormatError": "scope_core.errors",
        "Dataset": "scope_core.data.dataset",
        "Decision": "scope_core.routing.decision",
        "Embedder": "scope_core.text.embedder",
        "EmbedderUnavailableError": "scope_core.errors",
        "Estimate": "scope_core.estimators.estimate",
        "Estimator": "scope_core.estimators",
        "Evidence": "scope_core.estimators.estimate",
        "KNNEstimator": "scope_core.estimators",
        "ModelSpec": "scope_core.specs",
        "NoCandidateError": "scope_core.errors",
        "Outcome": "scope_core.outcome",
        "RouteOptions": "scope_core.routing.policy",
        "QueryContext": "scope_core.estimators",
        "Router": "scope_core.routing.router",
        "ScopeError": "scope_core.errors",
        "SentenceTransformerEmbedder": "scope_core.text.embedder",
        "Turn": "scope_core.text.turns",
        "UnknownModelError": "scope_core.errors",
        "UnknownRunError": "scope_core.errors",
        "as_embedder": "scope_core.text.embedder",
        "default_embedder": "scope_core.text.embedder",
        "get_estimator": "scope_core.estimators",
        "load_dataset": "scope_core.data.dataset",
        "routing_text": "scope_core.text.turns",
        "spec_for": "scope_core.profiling.lookup",
        "text_hash": "scope_core.outcome",
    },
)
