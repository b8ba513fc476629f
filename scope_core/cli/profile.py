"""``scope profile``: ask models the graded anchors, record their outcomes, refit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table

from scope_core.cli.app import (
    StoreOption,
    StorePromptsOption,
    app,
    command,
    console,
    fail,
    load_attribute,
    looked_up_spec,
    open_router,
    show_progress,
)
from scope_core.money import usd


def _profile_targets(
    models: list[str], answer: str | None, typed: dict, registered: dict, dry_run: bool
) -> list[tuple[object, object | None]]:
    """(spec, model) pairs: ``--answer`` named by ``--model`` (or its own model name), else each ``--model``; on a dry
    run a ``--model`` is not created (no key needed, nothing asked): its model is None."""
    from scope_core.profiling.answer import chat_model
    from scope_core.profiling.lookup import model_name

    if answer is not None:
        target = load_attribute(answer)
        name = models[0] if models else model_name(target)
        if not name or len(models) > 1:
            raise fail("with --answer, name the model once: --model NAME")
        return [(looked_up_spec(name, registered, typed, target), target)]
    if not models:
        raise fail("nothing to profile: pass --model provider:name (LangChain) or --answer module:attribute")
    targets = [(ref, None if dry_run else chat_model(ref)) for ref in models]
    return [(looked_up_spec(ref, registered, typed, target), target) for ref, target in targets]


def _wrapper_line(instruction: str) -> str:
    """How each anchor is asked, in one line."""
    if not instruction:
        return "each anchor is asked as its prompt, as it is in the file"
    return f"each anchor is asked as its question followed by {instruction.strip()!r} (the grader reads that letter)"


@app.command()
@command
def profile(
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="provider:name of a LangChain chat model (init_chat_model), repeatable; with --answer, its name"
        ),
    ] = None,
    answer: Annotated[
        str | None,
        typer.Option(
            help="module:attribute of a LangChain chat model, a LlamaIndex LLM or a prompt -> answer callable"
        ),
    ] = None,
    input_price: Annotated[float | None, typer.Option(help="USD per 1M input tokens (default: genai-prices)")] = None,
    output_price: Annotated[float | None, typer.Option(help="USD per 1M output tokens (default: genai-prices)")] = None,
    context_window: Annotated[int | None, typer.Option(help="tokens (default: looked up)")] = None,
    grade: Annotated[
        str | None,
        typer.Option(help="module:function grading (reply, gold) in [0, 1] (default: multiple-choice letter)"),
    ] = None,
    anchors: Annotated[
        int | None, typer.Option(help="ask only the first N shipped anchors (they cover subjects evenly)")
    ] = None,
    anchors_file: Annotated[
        Path | None, typer.Option(help="your own anchors: JSONL of {prompt, gold} (asked as they are)")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="answers in flight at once")] = 8,
    max_cost: Annotated[float | None, typer.Option(help="USD: start no answer past this total spend")] = None,
    dry_run: Annotated[
        bool, typer.Option(help="print the cost estimate and how anchors are asked, then stop (no key, no call)")
    ] = False,
    redo: Annotated[
        bool, typer.Option(help="answer every anchor again, replacing earlier answers (default: skip answered ones)")
    ] = False,
    store: StoreOption = None,
    store_prompts: StorePromptsOption = True,
):
    """Ask models the graded anchor questions, record their outcomes, and fit, so the router can place them.

    Resumable: anchors a model already answered are skipped (--redo answers them again). The cost estimate is
    printed first; --dry-run stops there, without creating or asking any model.
    """
    from scope_core.profiling.anchors import MULTIPLE_CHOICE_INSTRUCTION, load_anchors, shipped_anchors
    from scope_core.profiling.graders import multiple_choice
    from scope_core.profiling.profile import estimate_cost, profile_model

    typed = {
        k: v
        for k, v in {"input_price": input_price, "output_price": output_price, "context_window": context_window}.items()
        if v is not None
    }
    router = open_router(store, store_prompts=store_prompts)
    pairs = _profile_targets(model or [], answer, typed, router.models(), dry_run)
    chosen = load_anchors(anchors_file)[:anchors] if anchors_file else shipped_anchors(anchors)
    instruction = "" if anchors_file else MULTIPLE_CHOICE_INSTRUCTION
    grader = load_attribute(grade) if grade else multiple_choice
    table = Table(
        Column("model", overflow="fold"), "to answer", "done before", "est. input tokens", "est. output tokens",
        Column("est. cost", no_wrap=True),
    )  # fmt: skip
    for spec, _ in pairs:
        e = estimate_cost(router, spec, chosen, instruction=instruction, redo=redo)
        table.add_row(
            e.model, str(e.anchors), str(e.done), f"{e.input_tokens:,}", f"{e.output_tokens:,}", usd(e.cost_usd)
        )
    console.print(table)
    console.print(_wrapper_line(instruction), soft_wrap=True, highlight=False, markup=False)
    if dry_run:
        return
    results, spent = [], 0.0
    for spec, target in pairs:
        left = None if max_cost is None else max_cost - spent
        if left is not None and left <= 0:
            break
        kwargs = {"grader": grader, "instruction": instruction, "concurrency": concurrency, "max_cost": left}
        results.append(profile_model(router, spec, target, chosen, progress=show_progress(), redo=redo, **kwargs))
        spent += results[-1].total_cost_usd
    table = Table(
        Column("model", overflow="fold"), "answered", "skipped", "scored", "errors", "mean score",
        *(Column(h, no_wrap=True) for h in ("cost", "time")),
    )  # fmt: skip
    for r in results:
        mean = "-" if r.mean_score is None else f"{r.mean_score:.3f}"
        table.add_row(
            r.model, str(r.answered), str(r.skipped), str(r.scored), str(r.errors), mean, usd(r.total_cost_usd),
            f"{r.elapsed_s:.1f} s",
        )  # fmt: skip
    console.print(table)
    for r in results:
        for text in r.first_errors:
            console.print(f"{r.model} failed: {text}", soft_wrap=True, highlight=False, markup=False)
    if max_cost is not None and (len(results) < len(pairs) or any(r.stopped_at_max_cost for r in results)):
        console.print(f"stopped at --max-cost {usd(max_cost)}; run the same command again to resume")
