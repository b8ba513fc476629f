"""Concurrent calls from asyncio and threads: every outcome is recorded exactly once."""

from __future__ import annotations

import asyncio

from tests.langchain.lc_support import EASY, HARD, scope_model


async def test_200_concurrent_ainvoke_record_each_outcome_once(lc_router):
    llm = scope_model(lc_router)
    before = lc_router.store.count_outcomes()
    prompts = [(HARD + EASY)[i % 12] for i in range(200)]  # seeded texts: embeddings cached, calls distinct
    replies = await asyncio.gather(*(llm.ainvoke(p) for p in prompts))
    await llm.aflush()
    run_ids = [r.response_metadata["scope"]["run_id"] for r in replies]
    assert len(set(run_ids)) == 200
    assert lc_router.store.count_outcomes() - before == 200
    assert all(lc_router.store.outcome(r) is not None for r in run_ids)


def test_threaded_batch_records_each_outcome_once(lc_router):
    llm = scope_model(lc_router)
    before = lc_router.store.count_outcomes()
    replies = llm.batch(
        [f"Question number {i}: what is {i} squared?" for i in range(24)], config={"max_concurrency": 8}
    )
    llm.flush()
    assert len({r.response_metadata["scope"]["run_id"] for r in replies}) == 24
    assert lc_router.store.count_outcomes() - before == 24
