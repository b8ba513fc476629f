"""Nothing leaks: provider errors carrying secrets, every candidate failing, leave no secret in any file of the store
and its journal, any log line, any raised error, the answer's metadata or a span; a store that keeps no prompts keeps
no echo of one in an error either; and every file is its owner's alone."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from scope_core import Candidate, ModelSpec, Outcome, Router
from scope_core.errors import AllCandidatesFailedError
from scope_core.observe.tracing import span_attributes
from scope_core.scrub import PROMPT_REDACTED
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel

from .test_scrub import SECRETS
from .test_store_server import letter_counts

NAMES = ("m-a", "m-b", "m-c")


def every_byte(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def _router(folder: Path, **kwargs) -> Router:
    router = Router.open(str(folder), embedder=letter_counts, cache_ttl_s=0.0, **kwargs)
    specs = [ModelSpec(name=n, input_price=1 + i, output_price=2 + i) for i, n in enumerate(NAMES)]
    for spec in specs:
        router.register_model(spec)
    router.record([Outcome(prompt=f"Seed {i}", model=n, score=1.0) for i in range(3) for n in NAMES])
    return router


def _chat(router: Router, errors: dict[str, Exception]) -> ScopeChatModel:
    specs = router.models()
    pool = [Candidate(model=ScriptedChatModel(model=n, error=errors.get(n)), spec=specs[n]) for n in NAMES]
    return ScopeChatModel(candidates=pool, router=router)


def test_no_secret_leaves_in_any_file_log_error_metadata_or_span(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="scope_core")
    router = _router(tmp_path / "store")
    texts = [text for _, text, _ in SECRETS]
    failing = {n: RuntimeError(f"Error code: 401 - {' | '.join(texts[i::3])}") for i, n in enumerate(NAMES)}
    with pytest.raises(AllCandidatesFailedError) as raised:
        _chat(router, failing).invoke("Every candidate fails on this question")
    answer = _chat(router, {n: e for n, e in failing.items() if n != "m-c"}).invoke("Two fail, then one answers")
    router.flush(timeout=10)
    shown = [
        str(raised.value),
        repr(raised.value),
        str(answer.response_metadata["scope"]),
        caplog.text,
        *(str(span_attributes(r, None)) + r.model_dump_json() for r in router.history()),
    ]
    stored = every_byte(tmp_path / "store")
    for form, _, secret in SECRETS:
        assert not any(secret in text for text in shown), f"{form} leaked"
        assert secret.encode() not in stored, f"{form} leaked into the store's files"
    assert str(raised.value).startswith("every candidate failed (m-") and "[REDACTED]" in str(raised.value)
    assert len(router.history()) == 2 and router.store.count_outcomes() == 9 + 3 + 3


def test_a_store_keeping_no_prompts_keeps_no_echo_of_one_in_an_error(tmp_path):
    router = _router(tmp_path / "store", store_prompts=False)
    prompt = "My PIN is 7Q4321Z and my card is 4111-1111-1111-1111; what is my balance?"
    echo = RuntimeError(f"BadRequestError 400: content policy rejected '{prompt}'\nbody: {{'input': '{prompt}'}}")
    answer = _chat(router, {"m-a": echo, "m-b": echo}).invoke(prompt)
    router.flush(timeout=10)
    failed = [router.store.outcome(f"{answer.response_metadata['scope']['run_id']}:{n}:failed") for n in ("m-a", "m-b")]
    for record in failed:
        assert record["err"].startswith("RuntimeError: BadRequestError 400: content policy rejected '")
        assert PROMPT_REDACTED in record["err"] and "7Q4321Z" not in record["err"] and "body" not in record["err"]
    [logged] = router.history()
    assert logged.text is None and all("7Q4321Z" not in (a.error or "") for a in logged.attempts)
    stored = every_byte(tmp_path / "store")
    assert b"7Q4321Z" not in stored and b"4111-1111" not in stored  # (a bare "4321" may stand in a timestamp)


def test_store_journal_lock_and_snapshot_files_are_the_owners_alone(tmp_path):
    folder = tmp_path / "store"
    router = _router(folder)
    router.route("Which files does routing leave behind?")
    router.flush(timeout=10)
    router.store.secure(every_s=0)
    names = {p.name for p in folder.iterdir()}
    assert {"chroma.sqlite3", "scope-journal.sqlite", "scope.lock", "scope-journal-registry.json"} <= names
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path} is {oct(mode)}"
