"""Ingest: a data set's models registered and its outcomes stored, idempotently, then the estimator refitted.

A model already registered keeps its spec unless ``update_prices`` (or the data set declares its prices in
models.json): fitted prices never replace registered ones; a registered model without capabilities takes the data
set's. A new model priced nowhere (``Dataset.unpriced``), or an outcome whose tokens or cost cannot be real
(``scope_core.store.plausible``), is refused before anything is written, naming it. An ingest that fails before
storing any outcome leaves the registry as it was.

Each batch is written as a journaled write is (``StoreWrites.add_ids``): its priors delta first, marked with one
attempt id per prompt, derived from that prompt's outcomes, then its records. A rerun after an ingest was killed
midway (in any batching) finds the prompts whose attempts were counted and writes the rest of their records without
counting them again, so the priors stay exact even while other processes record (nothing is rebuilt); prompt
summaries the kill left out of line with their records are re-derived.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
import orjson

from scope_core.errors import ImplausibleOutcomeError, ScopeError, StoreUnavailableError
from scope_core.outcome import Outcome, text_hash
from scope_core.specs import ModelSpec
from scope_core.store.plausible import problem, why_refused
from scope_core.store.records import PromptInfo, meta_of

if TYPE_CHECKING:
    from scope_core.data.dataset import Dataset
    from scope_core.estimators.base import Estimator
    from scope_core.routing.store_view import StoreView
    from scope_core.store.behaviour import BehaviourStore

log = logging.getLogger("scope_core")


class IngestTarget(Protocol):
    """What ingest needs of a router (``scope_core.Router`` is one)."""

    store: BehaviourStore
    view: StoreView
    estimator: Estimator

    def register_model(self, spec: ModelSpec) -> None: ...
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray: ...
    def count_tokens(self, text: str) -> int: ...
    def fit(self) -> object: ...


def ingest(
    router: IngestTarget,
    dataset: Dataset,
    *,
    progress: bool = True,
    batch_prompts: int = 512,
    update_prices: bool = False,
    fit: bool = True,
) -> int:
    """Store ``dataset`` through ``router`` (its store, embedder and token counter); returns records changed.
    Then refits the router's estimator (``fit``) unless nothing changed and the store holds its fit already."""
    from tqdm.auto import tqdm

    store = router.store
    registered = store.models()
    _check_priced(dataset, registered)
    _check_plausible(dataset, registered)
    added = _register_models(router, dataset, registered, update_prices)
    inconsistent = store.inconsistent_found
    by_prompt = dataset.outcomes_by_prompt()
    changed, written = 0, False
    try:
        with tqdm(
            total=len(dataset.outcomes), desc=f"ingest {dataset.name}", unit="outcome", disable=not progress
        ) as bar:
            for start in range(0, len(dataset.prompts), batch_prompts):
                rows = dataset.prompts[start : start + batch_prompts]
                texts = {text_hash(p.text): (p.text, p.task) for p in rows}
                per_prompt = [dataset.to_outcomes(p, by_prompt.get(p.id, [])) for p in rows]
                changed += _store_once(store, per_prompt, _prompt_infos(router, texts))
                written = True
                bar.update(sum(len(o) for o in per_prompt))
    except BaseException:
        if not written:
            _restore_registry(router, added, registered)
        raise
    if store.inconsistent_found > inconsistent:  # an earlier write died midway
        log.warning(
            "scope-router: %d prompt summaries were out of line with their records (a write died midway) and were "
            "re-derived; if that write was an ingest of a version before exact priors, run `scope repair` once no "
            "other process writes",
            store.inconsistent_found - inconsistent,
        )
    router.view.invalidate()
    fit_name = getattr(router.estimator, "fit_name", None)
    if fit and (changed or fit_name not in store.registry().fits):  # a re-ingest that changed nothing keeps the fit
        router.fit()
    return changed


def prompt_attempt(outcomes: list[Outcome]) -> str:
    """The attempt id of one prompt's outcomes in an ingest: the same outcomes get the same id in every run."""
    digest = hashlib.sha256()
    for o in outcomes:
        digest.update(orjson.dumps(meta_of(o), option=orjson.OPT_SORT_KEYS))
        digest.update(str(o.id).encode())
    return "ingest-" + digest.hexdigest()[:32]


def _store_once(store: BehaviourStore, per_prompt: list[list[Outcome]], infos: dict[str, PromptInfo]) -> int:
    """Store a batch, each prompt's outcomes counted in the priors once over runs: those whose attempt some writer
    already counted (an earlier run killed midway) are written without counting. Returns records changed."""
    attempts = [prompt_attempt(outcomes) for outcomes in per_prompt]
    counted = store.writer_priors.counted_attempts() & set(attempts)
    changed = 0
    for again in (True, False):
        group = [(a, o) for a, o in zip(attempts, per_prompt, strict=True) if o and (a in counted) == again]
        if group:
            outcomes = [x for _, batch in group for x in batch]
            changed += len(store.add_ids(outcomes, infos, attempts=[a for a, _ in group], retried=again))
    return changed


def _check_plausible(dataset: Dataset, registered: dict[str, ModelSpec]) -> None:
    """Refuse, before anything is written, an outcome whose tokens or cost cannot be real for its model."""
    by_prompt = dataset.outcomes_by_prompt()
    for prompt in dataset.prompts:
        for outcome in dataset.to_outcomes(prompt, by_prompt.get(prompt.id, [])):
            spec = registered.get(outcome.model) or dataset.specs.get(outcome.model)
            if (why := problem(outcome, spec)) is not None:
                raise ImplausibleOutcomeError(f"{dataset.name}, prompt {prompt.id!r}: {why_refused(outcome, why)}")


def _prompt_infos(router: IngestTarget, texts: dict[str, tuple[str, str | None]]) -> dict[str, PromptInfo]:
    """PromptInfo for each {hash: (text, task)} the store does not hold yet, embedded in one batch."""
    known = router.store.known_prompts(list(texts))
    new = [h for h in texts if h not in known]
    if not new:
        return {}
    vectors = router.embed_texts([texts[h][0] for h in new])
    return {
        h: PromptInfo(h, v, router.count_tokens(texts[h][0]), texts[h][0], texts[h][1])
        for h, v in zip(new, vectors, strict=True)
    }


def _register_models(
    router: IngestTarget, dataset: Dataset, registered: dict[str, ModelSpec], update_prices: bool
) -> list[str]:
    """Register the data set's new models, and update known ones only where allowed; returns names written."""
    written = []
    for name, spec in dataset.specs.items():
        current = registered.get(name)
        if current is not None and current == spec:
            continue
        if current is not None and spec.capabilities and not current.capabilities:  # what it can do, prices kept
            current = current.model_copy(update={"capabilities": spec.capabilities})
            router.register_model(current)
            written.append(name)
        if current is not None and (name in dataset.unpriced or not (update_prices or name in dataset.declared)):
            if (current.input_price, current.output_price) != (spec.input_price, spec.output_price):
                log.info(
                    "scope-router: %s keeps its registered prices $%g/$%g (the data set's fitted $%g/$%g "
                    "apply only with update_prices)",
                    name,
                    current.input_price,
                    current.output_price,
                    spec.input_price,
                    spec.output_price,
                )
            continue
        router.register_model(spec)
        written.append(name)
    return written


def _check_priced(dataset: Dataset, registered: dict[str, ModelSpec]) -> None:
    """Refuse, before anything is written, a data set whose new models are priced nowhere (they would cost $0)."""
    missing = sorted(m for m in dataset.unpriced if m not in registered)
    if missing:
        raise ScopeError(
            f"cannot price model(s) {', '.join(missing)} of {dataset.name}: the data has no cost_usd with token counts "
            f"for them, genai-prices does not know them and the store has none registered. Register each first "
            f"(`scope models add NAME --input-price X --output-price Y`, or router.register_model(ModelSpec(...))) "
            f"or declare them in the data folder's models.json: "
            f'{{"prices_usd_per_mtok": {{"{missing[0]}": {{"input": X, "output": Y}}}}}}'
        )


def _restore_registry(router: IngestTarget, written: list[str], before: dict[str, ModelSpec]) -> None:
    """Undo ``_register_models``: earlier specs back, new models removed."""
    with contextlib.suppress(StoreUnavailableError):
        for name in written:
            if name in before:
                router.store.put_model(before[name])
        router.store.remove_models([n for n in written if n not in before])
    router.view.invalidate()
