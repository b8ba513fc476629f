"""Removing models from a store: a mistyped or left-over model leaves the registry, its priors and (by default) its
outcome records, so ``scope models`` and ``scope stats`` no longer list it and no neighbour counts it."""

from __future__ import annotations

from collections.abc import Sequence

from scope_core.errors import UnknownModelError
from scope_core.store.behaviour import BehaviourStore


def remove_models(store: BehaviourStore, names: Sequence[str], *, keep_outcomes: bool = False) -> int:
    """Unregister ``names`` and delete their outcome records (unless ``keep_outcomes``), then rebuild the priors;
    returns how many outcome records went. An unknown name raises UnknownModelError and nothing changes. Run it
    while no other process writes to the store."""
    registered = store.models()
    if unknown := sorted(set(names) - set(registered)):
        raise UnknownModelError(f"unknown model(s) {unknown}; registered: {sorted(registered)}")
    deleted = 0 if keep_outcomes else store.delete_outcomes_of(names)
    store.remove_models(list(names))
    store.rebuild_priors()
    return deleted
