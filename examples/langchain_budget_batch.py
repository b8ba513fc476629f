"""A budget-paced batch over replayed RouterBench models: alpha adapts so spend tracks the budget.

Run: .venv/bin/python examples/langchain_budget_batch.py
"""

import random
from pathlib import Path

from scope_core import BehaviourStore, BudgetExhaustedError, BudgetGovernor, Router, default_embedder, load_dataset
from scope_langchain import ScopeChatModel, replay_candidates

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "routerbench-3k"

dataset = load_dataset(DATA)
prompts = list(dataset.prompts)
random.Random(1).shuffle(prompts)
batch, past = prompts[:40], prompts[40:640]
router = Router(BehaviourStore.ephemeral(), embedder=default_embedder(disk_cache=True))
router.ingest(dataset.subset([p.id for p in past]), progress=False)

budget = BudgetGovernor(budget_usd=0.01, expected_calls=len(batch))
llm = ScopeChatModel(candidates=replay_candidates(dataset), router=router, budget=budget)
results = llm.batch([p.text for p in batch], config={"max_concurrency": 4}, return_exceptions=True)
llm.flush()
replies = [r for r in results if not isinstance(r, Exception)]
refused = [r for r in results if isinstance(r, BudgetExhaustedError)]
score = sum(r.response_metadata["recorded_score"] for r in replies)
models = sorted({r.response_metadata["model_name"] for r in replies})
print(
    f"{len(replies)} calls answered, {len(refused)} refused once no model fit under the cap; {score:.0f} correct; "
    f"spent ${budget.spent:.5f} of ${budget.budget:.2f}; alpha now {budget.alpha:.2f}"
)
print("models used:", models)
