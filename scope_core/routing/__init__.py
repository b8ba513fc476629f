"""Routing a call: the router, the caller's options and the policy they imply, budgets, model health,
the decision, and the routed call that runs the candidates along its ranking."""

from scope_core.lazy import lazy_exports

__all__ = ["BudgetGovernor", "Candidate", "Decision", "HealthTracker", "RouteOptions", "RoutedCall", "Router"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BudgetGovernor": "scope_core.routing.budget",
        "Candidate": "scope_core.routing.candidate",
        "Decision": "scope_core.routing.decision",
        "HealthTracker": "scope_core.routing.health",
        "RouteOptions": "scope_core.routing.policy",
        "RoutedCall": "scope_core.routing.call",
        "Router": "scope_core.routing.router",
    },
)
