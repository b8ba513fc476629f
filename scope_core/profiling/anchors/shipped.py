"""Anchor questions with gold answers: the shipped set and users' own JSONL files."""

from __future__ import annotations

import gzip
from importlib import resources
from pathlib import Path

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scope_core.errors import DataFormatError, InvalidInputError

SHIPPED = "anchors.jsonl.gz"
# appended to each shipped question when it is asked: the multiple-choice grader reads the letter back
MULTIPLE_CHOICE_INSTRUCTION = (
    "\n\nThink step by step if you need to, then end with 'The answer is (X)', X being the letter of the option."
)


class Anchor(BaseModel):
    """One graded question: the prompt as stored and routed on, and its gold answer."""

    model_config = ConfigDict(frozen=True)

    prompt: str = Field(min_length=1)
    gold: str = Field(min_length=1)
    id: str | None = None
    subject: str | None = None


def _parse(lines: list[bytes], where: str) -> list[Anchor]:
    anchors = []
    for row, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            anchors.append(Anchor.model_validate(orjson.loads(line)))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            problem = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise DataFormatError(where, row, None, f"not an anchor {{prompt, gold}}: {problem}") from None
    return anchors


def load_anchors(path: str | Path) -> list[Anchor]:
    """Anchors from a JSONL file (optionally .gz), one ``{"prompt": ..., "gold": ...}`` object a line."""
    path = Path(path)
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return _parse(data.splitlines(), str(path))


def shipped_anchors(n: int | None = None) -> list[Anchor]:
    """The shipped anchors (all 280, or the first ``n``: the file is round-robin over subjects, so any
    prefix covers the subjects evenly)."""
    if n is not None and n <= 0:
        raise InvalidInputError(f"the number of anchors must be > 0, got {n}")
    data = gzip.decompress(resources.files(__package__).joinpath(SHIPPED).read_bytes())
    return _parse(data.splitlines(), SHIPPED)[:n]
