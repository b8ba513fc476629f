"""Train/test split of a data set's prompts, and the train part a held-out-models run sees."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from scope_core.data.dataset import Dataset
from scope_core.errors import InvalidInputError


def split_prompts(dataset: Dataset, train_frac: float, seed: int) -> tuple[list[str], list[str]]:
    """Prompt ids shuffled by ``seed``: the first ``train_frac`` of them train, the rest test."""
    if not 0.0 < train_frac < 1.0:
        raise InvalidInputError(f"train_frac must be strictly between 0 and 1, got {train_frac}")
    ids = [p.id for p in dataset.prompts]
    order = np.random.default_rng(seed).permutation(len(ids))
    n_train = round(train_frac * len(ids))
    if n_train == 0 or n_train == len(ids):
        raise InvalidInputError(f"train_frac {train_frac} leaves an empty train or test part of {len(ids)} prompts")
    shuffled = [ids[i] for i in order]
    return shuffled[:n_train], shuffled[n_train:]


def sample_prompts(dataset: Dataset, n: int, seed: int) -> Dataset:
    """A random subset of ``n`` prompts (all models), drawn with ``seed``."""
    if n >= len(dataset.prompts):
        return dataset
    order = np.random.default_rng(seed + 1).permutation(len(dataset.prompts))[:n]
    return dataset.subset([dataset.prompts[i].id for i in order])


def restrict_models(dataset: Dataset, models: Collection[str], keep_prompts: Collection[str]) -> Dataset:
    """Drop the outcomes of ``models`` except on ``keep_prompts`` (their anchor prompts)."""
    models, keep_prompts = set(models), set(keep_prompts)
    return Dataset(
        name=dataset.name,
        prompts=list(dataset.prompts),
        outcomes=[o for o in dataset.outcomes if o.model not in models or o.prompt_id in keep_prompts],
        specs=dict(dataset.specs),
    )
