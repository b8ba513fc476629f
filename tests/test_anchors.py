"""Anchors: the shipped graded set, users' own files, and diverse selection."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest
from langchain_core.messages import AIMessage
from llama_index.core.base.llms.types import CompletionResponse

from scope_core.errors import DataFormatError
from scope_core.profiling.anchors import load_anchors, select_anchors, shipped_anchors
from scope_core.profiling.answer import reply_usage

from .conftest import data_path

ROOT = Path(__file__).resolve().parents[1]
SUBJECTS = 14


def test_shipped_anchors_cover_every_subject_with_gold_letters():
    anchors = shipped_anchors()
    assert len(anchors) == 280 and len({a.prompt for a in anchors}) == 280
    assert Counter(a.subject for a in anchors) == {s: 20 for s in {a.subject for a in anchors}}
    assert len({a.subject for a in anchors}) == SUBJECTS
    for a in anchors:  # the gold letter is one of the question's options
        assert re.fullmatch(r"[A-J]", a.gold) and f"\n{a.gold}) " in a.prompt, a.id
    # round-robin: any prefix covers the subjects evenly
    assert len({a.subject for a in shipped_anchors(SUBJECTS)}) == SUBJECTS
    assert shipped_anchors(3) == anchors[:3]
    with pytest.raises(ValueError, match="> 0"):
        shipped_anchors(0)


def test_pyproject_ships_the_anchor_files():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["scope_core.profiling.anchors"]
    for name in ("anchors.jsonl.gz", "README.md", "LICENSE"):
        assert (ROOT / "scope_core" / "profiling" / "anchors" / name).is_file()
        assert any(fnmatch(name, p) for p in patterns), name
    assert "MIT" in (ROOT / "scope_core" / "profiling" / "anchors" / "LICENSE").read_text()


@pytest.mark.data
def test_the_build_script_reproduces_the_shipped_anchors():
    spec = importlib.util.spec_from_file_location("build_anchors", ROOT / "scripts" / "build_anchors.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    rows = build.select(data_path("mmlu-pro-29"), per_subject=20, bins=5, max_chars=1500, seed=0)
    assert [(r["id"], r["gold"]) for r in rows] == [(a.id, a.gold) for a in shipped_anchors()]


def test_own_anchors_load_from_jsonl_with_clear_errors(tmp_path):
    good = tmp_path / "mine.jsonl"
    good.write_text('{"prompt": "2+2?", "gold": "4"}\n\n{"prompt": "Capital of France?", "gold": "Paris"}\n')
    assert [a.gold for a in load_anchors(good)] == ["4", "Paris"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "2+2?", "gold": "4"}\n{"prompt": "no gold"}\n')
    with pytest.raises(DataFormatError, match=r"bad.jsonl, row 2: not an anchor"):
        load_anchors(bad)


def _blobs(n_blobs: int, per_blob: int, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_blobs, dim)) * 10
    labels = np.repeat(np.arange(n_blobs), per_blob)
    return centres[labels] + rng.normal(scale=0.1, size=(len(labels), dim)), labels


def test_one_anchor_per_cluster():
    x, labels = _blobs(6, 30)
    anchors = select_anchors(x, 6, seed=0)
    assert sorted(labels[anchors]) == list(range(6))


def test_anchors_are_distinct_and_seeded():
    x, _ = _blobs(4, 50)
    anchors = select_anchors(x, 40, seed=1)
    assert len(set(anchors)) == 40
    assert select_anchors(x, 40, seed=1) == anchors
    assert select_anchors(x, 500) == list(range(len(x)))
    with pytest.raises(ValueError):
        select_anchors(x, 0)


def test_anchors_follow_where_prompts_are():
    # two equally spread groups, one 9x larger: it gets most anchors (farthest-point sampling would split ~evenly)
    rng = np.random.default_rng(0)
    big = rng.normal(size=(180, 16))
    small = rng.normal(size=(20, 16)) + 50.0
    anchors = select_anchors(np.vstack([big, small]), 10, seed=0)
    in_big = sum(i < 180 for i in anchors)
    assert 7 <= in_big <= 9


def test_reply_usage_reads_strings_mappings_and_messages():
    assert reply_usage("hi") == ("hi", None, None)
    assert reply_usage({"text": "hi", "input_tokens": 3, "output_tokens": 4}) == ("hi", 3, 4)
    message = AIMessage(content="hi", usage_metadata={"input_tokens": 7, "output_tokens": 2, "total_tokens": 9})
    assert reply_usage(message) == ("hi", 7, 2)
    llama = CompletionResponse(text="hi", raw={"usage": {"prompt_tokens": 5, "completion_tokens": 1}})
    assert reply_usage(llama) == ("hi", 5, 1)
    with pytest.raises(TypeError):
        reply_usage(42)
