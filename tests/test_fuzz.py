"""Hypothesis fuzzing: the loaders and the routing-text builder either work or raise one library error."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scope_core import BehaviourStore, DataFormatError, Router, Turn, load_dataset
from scope_core.errors import InvalidInputError
from scope_core.text.checks import MAX_PROMPT_CHARS, query_text

from .test_store_server import letter_counts

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COLUMNS = ["prompt_id", "prompt", "model", "score", "input_tokens", "output_tokens", "cost_usd", "task"]
# any code point, lone surrogates included
TEXT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=40)
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=True), TEXT, st.lists(TEXT, max_size=2)
)


def _load(name: str, data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            dataset = load_dataset(path)
        except DataFormatError as exc:
            assert str(exc).startswith(str(path)), "the error names the file"
            return None
    return dataset


def _check(dataset) -> None:
    event("rejected" if dataset is None else "loaded")
    if dataset is None:
        return
    assert dataset.outcomes and dataset.prompts
    for row in dataset.outcomes:
        assert 0.0 <= row.score <= 1.0
        row.model.encode("utf-8")
    for prompt in dataset.prompts:
        assert prompt.text.strip() and isinstance(prompt.id, str)
        assert prompt.task is None or isinstance(prompt.task, str)
        prompt.text.encode("utf-8")
    dataset.to_outcomes(dataset.prompts[0], dataset.outcomes_by_prompt().get(dataset.prompts[0].id, []))
    pairs = [(o.prompt_id, o.model) for o in dataset.outcomes]
    assert len(pairs) == len(set(pairs)), "one outcome per (prompt, model)"


RECORDS = st.one_of(
    st.dictionaries(st.sampled_from(COLUMNS), VALUES, max_size=8),
    st.fixed_dictionaries(
        {
            "prompt": st.one_of(st.text(min_size=1, max_size=30), TEXT),
            "model": st.sampled_from(["a", "b"]),
            "score": st.one_of(st.floats(0, 1), st.floats(0, 1), VALUES),
        },
        optional={k: VALUES for k in ("prompt_id", "task", "input_tokens", "output_tokens", "cost_usd")},
    ),
)


@FUZZ
@given(st.lists(RECORDS, min_size=1, max_size=6))
def test_jsonl_loader_takes_any_records_or_names_the_problem(records):
    lines = []
    for record in records:
        try:
            lines.append(json.dumps(record))
        except ValueError:
            lines.append("{not json")
    _check(_load("fuzz.jsonl", "\n".join(lines).encode("utf-8", "surrogatepass")))


@FUZZ
@given(
    st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=8, unique=True),
    st.lists(
        st.lists(st.one_of(TEXT, st.sampled_from(["0", "1", "0.5", "-1", "nan", "x", ""])), max_size=8), max_size=6
    ),
    st.binary(max_size=8),
)
def test_csv_loader_takes_any_table_or_names_the_problem(header, rows, junk):
    body = "\n".join([",".join(header)] + [",".join(r) for r in rows])
    _check(_load("fuzz.csv", body.encode("utf-8", "surrogatepass") + junk))


@FUZZ
@given(st.binary(max_size=200))
def test_loaders_take_any_bytes_or_name_the_problem(data):
    _check(_load("bytes.csv", data))
    _check(_load("bytes.jsonl", data))


ROUTER = Router(BehaviourStore.ephemeral(), embedder=letter_counts)
TURNS = st.lists(
    st.builds(Turn, st.sampled_from(["system", "user", "assistant", "tool", "other"]), TEXT), min_size=0, max_size=6
)


@FUZZ
@given(st.one_of(TURNS, TEXT, st.lists(st.one_of(TEXT, st.integers(), st.none()), max_size=3), st.binary(max_size=5)))
def test_routing_text_of_any_query_is_usable_text_or_an_input_error(query):
    try:
        text = query_text(query)
    except InvalidInputError:
        return
    assert text.strip() and len(text) <= MAX_PROMPT_CHARS
    text.encode("utf-8")
    for mode in ("last_user", "conversation"):
        if not isinstance(query, str):
            with contextlib.suppress(InvalidInputError):  # e.g. an empty last user message
                query_text(query, mode).encode("utf-8")
