"""Offline token counting for cost prediction (cl100k BPE from the bpe-openai package)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

TokenCounter = Callable[[str], int]


@lru_cache(maxsize=1)
def _cl100k():
    import bpe_openai

    return bpe_openai.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in ``text``, without any download."""
    return len(_cl100k().encode(text))
