"""Ingest keeps the registry monotonic, a failed ingest changes nothing, and derived state is repairable."""

from __future__ import annotations

import json

import pytest

from scope_core import BehaviourStore, ModelSpec, Outcome, Router, ScopeError, load_dataset
from scope_core.store import summary as sm

from .test_data import write_long_csv
from .test_exact_priors import exact_priors

GPT4 = ModelSpec(name="gpt-4-1106", input_price=9.95, output_price=29.12)


def _jsonl(path, rows: list[dict]) -> None:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


@pytest.fixture
def fresh(embedder) -> Router:
    router = Router(BehaviourStore.ephemeral(), embedder=embedder, cache_ttl_s=0.0)
    yield router
    router.store.drop()


def test_fitted_or_zero_prices_never_replace_registered_ones_unless_asked(fresh: Router, tmp_path):
    fresh.register_model(GPT4)
    no_costs = tmp_path / "one.jsonl"
    _jsonl(no_costs, [{"prompt": "What is the capital of Peru?", "model": "gpt-4-1106", "score": 1}])
    dataset = load_dataset(no_costs)
    assert dataset.unpriced == {"gpt-4-1106"} and not dataset.declared
    fresh.ingest(dataset, progress=False)
    assert fresh.models()["gpt-4-1106"] == GPT4
    fresh.ingest(dataset, progress=False, update_prices=True)  # priced nowhere: nothing to update with
    assert fresh.models()["gpt-4-1106"] == GPT4


def test_an_ingest_without_prices_names_the_models_it_cannot_price_and_registers_none(fresh: Router, tmp_path):
    rows = [
        {"prompt": "What is the capital of Peru?", "model": model, "score": 1}
        for model in ("gpt-4o-mini", "my-finetune", "other-local")
    ]
    _jsonl(tmp_path / "mine.jsonl", rows)
    dataset = load_dataset(tmp_path / "mine.jsonl")
    assert dataset.unpriced == {"my-finetune", "other-local"}
    assert dataset.specs["gpt-4o-mini"].input_price == 0.15  # genai-prices knows it
    with pytest.raises(ScopeError, match=r"cannot price model\(s\) my-finetune, other-local of mine.*models add"):
        fresh.ingest(dataset, progress=False)
    assert fresh.models() == {} and fresh.store.count_outcomes() == 0
    for name in ("my-finetune", "other-local"):
        fresh.register_model(ModelSpec(name=name, input_price=0.2, output_price=0.4))
    fresh.ingest(dataset, progress=False)
    assert fresh.models()["my-finetune"].input_price == 0.2 and fresh.store.count_outcomes() == 3


def test_a_failed_ingest_leaves_the_registry_as_it_was(tmp_path, pool):
    def broken(texts: list[str]) -> list[list[float]]:
        if texts != ["dimension probe"]:
            raise RuntimeError("embedder crashed")
        return [[1.0, 0.0]]

    router = Router(BehaviourStore.ephemeral(), embedder=broken, cache_ttl_s=0.0)
    router.register_model(GPT4)
    path = tmp_path / "new.csv"
    write_long_csv(path, ["What?,newcomer,1,10,10,0.001,t", "What?,gpt-4-1106,1,10,10,0.5,t"])
    with pytest.raises(RuntimeError, match="embedder crashed"):
        router.ingest(load_dataset(path), progress=False, update_prices=True)
    assert router.models() == {"gpt-4-1106": GPT4} and router.store.count_outcomes() == 0


def test_an_edited_prompt_text_moves_its_outcome_out_of_the_old_summary(fresh: Router, tmp_path):
    fresh.register_model(ModelSpec(name="m", input_price=1.0, output_price=2.0))
    path = tmp_path / "edit.jsonl"
    _jsonl(path, [{"prompt_id": "q1", "prompt": "Old wording of the question", "model": "m", "score": 1}])
    fresh.ingest(load_dataset(path, name="set"), progress=False)
    _jsonl(path, [{"prompt_id": "q1", "prompt": "New wording of the question", "model": "m", "score": 1}])
    fresh.ingest(load_dataset(path, name="set"), progress=False)
    by_text = {}
    for text in ("Old wording of the question", "New wording of the question"):
        near = fresh.store.nearest(fresh.embed_texts([text])[0], 2)
        by_text[text] = dict(zip(near.ids, near.stats, strict=True))
    from scope_core import text_hash

    old, new = text_hash("Old wording of the question"), text_hash("New wording of the question")
    assert by_text["New wording of the question"][new]["m"][sm.N_SCORED] == 1
    assert by_text["Old wording of the question"][old] == {}, "the moved outcome no longer counts at the old text"
    assert fresh.store.priors()["m"][sm.N_SCORED] == 1


def _break_derived_state(store: BehaviourStore) -> None:
    """What a kill -9 between the outcome writes and the derived writes leaves: records, no summaries or priors."""
    ids = store._prompts.get(include=[])["ids"]
    store._prompts.update(ids=ids, metadatas=[{"stats": "{}"} for _ in ids])
    deltas = [i for i in store._models.get(include=[])["ids"] if i.startswith("__priors__/")]
    store._models.delete(ids=deltas)
    store._summaries.discard(ids)


def _rows(n: int) -> list[str]:
    return [
        f"Question number {i} about rivers,{m},{(i + j) % 2},10,10,0.001,t"
        for i in range(n)
        for j, m in enumerate("ab")
    ]


class Killed(BaseException):
    """What SIGKILL does to an ingest, in-process: it stops mid-write and runs nothing after."""


class DiesMidWrite:
    """The outcome collection of an ingest killed while writing a batch's records: half of them land."""

    def __init__(self, collection) -> None:
        self._collection = collection

    def add(self, ids, **fields) -> None:
        half = len(ids) // 2
        self._collection.add(ids=ids[:half], **{k: v[:half] for k, v in fields.items()})
        raise Killed

    def __getattr__(self, attr: str):
        return getattr(self._collection, attr)


def test_an_ingest_killed_midway_and_rerun_while_another_writer_records_leaves_priors_exact(fresh: Router, tmp_path):
    path = tmp_path / "runs.csv"
    write_long_csv(path, _rows(12))
    dataset = load_dataset(path)
    fresh.register_model(ModelSpec(name="a", input_price=1, output_price=1))
    outcomes = fresh.store._outcomes
    fresh.store._outcomes = DiesMidWrite(outcomes)
    with pytest.raises(Killed):
        fresh.ingest(dataset, progress=False, batch_prompts=4)  # the first batch: its delta, half its records
    fresh.store._outcomes = outcomes
    assert 0 < fresh.store.count_outcomes() < 8
    other = Router(BehaviourStore(fresh.store.client, fresh.store.name), embedder=fresh.embedder, cache_ttl_s=0.0)
    other.record([Outcome(prompt=f"Another writer's prompt {i}", model="a", score=1.0) for i in range(5)])
    rerun = Router(BehaviourStore(fresh.store.client, fresh.store.name), embedder=fresh.embedder, cache_ttl_s=0.0)
    rerun.ingest(dataset, progress=False)  # in other batches, by a new writer (another process)
    other.record(Outcome(prompt="One more from the other writer", model="b", score=0.0))
    assert fresh.store.count_outcomes() == 24 + 6
    assert exact_priors(fresh.store) and fresh.store.rebuild_summaries() == 0
    assert fresh.store.priors()["a"][sm.N_SCORED] == 12 + 5


def test_repair_rebuilds_summaries_and_priors_from_the_outcome_records(fresh: Router, tmp_path):
    path = tmp_path / "runs.csv"
    write_long_csv(path, _rows(6))
    fresh.ingest(load_dataset(path), progress=False)
    exact = fresh.store.priors()
    _break_derived_state(fresh.store)
    assert fresh.repair() == 6
    assert fresh.store.priors() == exact and fresh.repair() == 0
