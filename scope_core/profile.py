"""Profile a new model: run it on a small anchor set, grade its answers, record the outcomes.

After profiling, the router places the model from its anchor outcomes alone: the kNN estimator
shrinks the sparse local evidence toward the model's mean over the anchors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from .anchors import select_anchors
from .outcome import Outcome
from .router import Router
from .specs import ModelSpec

Answer = Callable[[str], Any]
Grade = Callable[[str, str], float | bool]


class ProfileReport(BaseModel):
    """What profiling recorded for one model."""

    model: str
    prompts: int
    scored: int
    errors: int
    mean_score: float | None
    total_cost_usd: float


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # LangChain content blocks
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)
    return str(content)


def reply_usage(reply: Any) -> tuple[str, int | None, int | None]:
    """(text, input tokens, output tokens) of an answer: a str, a {"text", "input_tokens",
    "output_tokens"} mapping, or a LangChain message (``content`` and ``usage_metadata``)."""
    if isinstance(reply, str):
        return reply, None, None
    if isinstance(reply, Mapping):
        return _text_of(reply.get("text", "")), reply.get("input_tokens"), reply.get("output_tokens")
    if hasattr(reply, "content"):
        usage = getattr(reply, "usage_metadata", None) or {}
        return _text_of(reply.content), usage.get("input_tokens"), usage.get("output_tokens")
    raise TypeError(f"an answer must be a str, a mapping or a message with .content, got {type(reply).__name__}")


def anchor_prompts(router: Router, prompts: Sequence[str], n: int | None, seed: int = 0) -> list[str]:
    """``n`` diverse prompts (see ``scope_core.anchors``); all of them when n is None or >= their count."""
    prompts = list(dict.fromkeys(prompts))
    if n is None or n >= len(prompts):
        return prompts
    return [prompts[i] for i in select_anchors(router.embed_texts(prompts), n, seed)]


def profile_model(
    router: Router,
    spec: ModelSpec,
    prompts: Sequence[str],
    answer: Answer,
    grade: Grade,
    *,
    anchors: int | None = 250,
    seed: int = 0,
    batch: int = 25,
    progress: bool = False,
) -> ProfileReport:
    """Register ``spec``, answer and grade each anchor prompt, and record the outcomes.

    ``answer(prompt)`` returns the model's reply (see ``reply_usage``); token counts it does not
    report are counted offline. ``grade(prompt, reply_text)`` returns a score in [0, 1] (or a bool).
    A failing ``answer`` is recorded as an error outcome; outcomes are recorded every ``batch`` prompts.
    Afterwards the model's imputer is fitted (``scope_core.imputer``), so the router can estimate it
    on the many stored prompts it never answered.
    """
    from tqdm.auto import tqdm

    router.register_model(spec)
    chosen = anchor_prompts(router, prompts, anchors, seed)
    pending: list[Outcome] = []
    recorded: list[Outcome] = []
    try:
        for prompt in tqdm(chosen, desc=f"profile {spec.name}", disable=not progress):
            start = time.perf_counter()
            try:
                text, in_tok, out_tok = reply_usage(answer(prompt))
            except Exception as exc:  # the model failed: that is evidence too
                pending.append(Outcome(prompt=prompt, model=spec.name, error=repr(exc), source="profile"))
                continue
            latency = time.perf_counter() - start
            in_tok = router.count_tokens(prompt) if in_tok is None else int(in_tok)
            out_tok = router.count_tokens(text) if out_tok is None else int(out_tok)
            pending.append(
                Outcome(
                    prompt=prompt,
                    model=spec.name,
                    score=float(grade(prompt, text)),
                    input_tokens=in_tok,
                    output_tokens=out_tok,
                    cost_usd=spec.cost(in_tok, out_tok),
                    latency_s=latency,
                    source="profile",
                )
            )
            if len(pending) >= batch:
                router.record(pending)
                recorded, pending = recorded + pending, []
    finally:
        if pending:
            router.record(pending)
            recorded += pending
    router.fit_imputers()
    scores = [o.score for o in recorded if o.scored]
    return ProfileReport(
        model=spec.name,
        prompts=len(chosen),
        scored=len(scores),
        errors=sum(1 for o in recorded if o.error),
        mean_score=sum(scores) / len(scores) if scores else None,
        total_cost_usd=sum(o.cost_usd or 0.0 for o in recorded),
    )
