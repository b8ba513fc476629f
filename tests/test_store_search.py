"""The prompt index searches with the ``ef_search`` the store is opened with, also on a store made with another."""

from __future__ import annotations

from scope_core import BehaviourStore, Router
from scope_core.store.behaviour import DEFAULT_EF_SEARCH

from .test_evaluation_run import synthetic


def _ef_search(store: BehaviourStore) -> int:
    return store.client.get_collection(f"{store.name}-prompts").configuration_json["hnsw"]["ef_search"]


def test_a_store_made_with_a_narrow_search_is_searched_as_asked_when_opened_again(tmp_path, embedder):
    folder = str(tmp_path / "store")
    narrow = BehaviourStore.open(folder, ef_search=8)
    Router(narrow, embedder=embedder).ingest(synthetic(20), progress=False)
    assert _ef_search(narrow) == 8
    reopened = BehaviourStore.open(folder)  # the default: Chroma alone would keep the 8 it was made with
    assert _ef_search(reopened) == DEFAULT_EF_SEARCH
    assert reopened.count_prompts() == 40 and len(reopened.models()) == len(narrow.models())
