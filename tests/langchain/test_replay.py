"""Replay candidates answer with RouterBench's recorded responses; the demo routes a chain over them."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from examples.langchain_routerbench_demo import run_chain_demo
from scope_core import load_dataset
from scope_langchain import replay_candidates

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "routerbench-3k"
pytestmark = [
    pytest.mark.data,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} not present"),
]


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(DATA)


def test_replay_answers_with_the_recorded_response_and_usage(dataset):
    row = dataset.outcomes[0]
    prompt = next(p for p in dataset.prompts if p.id == row.prompt_id)
    candidate = next(c for c in replay_candidates(dataset, [row.model]))
    reply = candidate.model.invoke([HumanMessage(prompt.text)])
    assert reply.text == (row.response or " ")
    assert reply.usage_metadata["output_tokens"] == row.output_tokens
    assert reply.response_metadata["recorded_score"] == row.score
    with pytest.raises(LookupError):
        candidate.model.invoke("a prompt nobody recorded")


def test_chain_demo_routes_held_out_prompts(dataset):
    rows = run_chain_demo(dataset, n=3, history=150, show=False)
    assert len(rows) == 3
    assert all(r["model"] in dataset.specs and r["cost_usd"] > 0 for r in rows)
    assert all(r["recorded_score"] in (0.0, 1.0) for r in rows)
