"""One library error for every bad value: pydantic's validation errors as one ``InvalidInputError`` line, and the
documented safe set of model names.

``Checked`` is the base of the core's value types built by callers (``ModelSpec``, ``Outcome``): constructing
one with a bad value raises ``InvalidInputError("ModelSpec: input_price: must be a finite number >= 0 (got
nan)")``, never pydantic's multi-line ``ValidationError``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from scope_core.errors import InvalidInputError

# a model name: a letter or digit first, then letters, digits and . _ - : @ + /, at most 200 characters, with no
# empty, '.' or '..' segment between slashes (names like 'mistralai/mixtral-8x7b' or 'openai:gpt-4o@2024-08-06')
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+/-]{0,199}")
MODEL_NAME_RULE = (
    "a model name starts with a letter or digit and holds only letters, digits and . _ - : @ + / (at most 200 "
    "characters, no empty, '.' or '..' part between slashes)"
)


def check_model_name(name: object) -> str:
    """``name`` if it is in the safe set (``MODEL_NAME_RULE``), else InvalidInputError naming it."""
    if not isinstance(name, str):
        raise InvalidInputError(f"model name must be str, got {type(name).__name__}")
    parts = name.split("/")
    if not MODEL_NAME.fullmatch(name) or any(p in ("", ".", "..") for p in parts):
        raise InvalidInputError(f"model name {name!r} is not allowed: {MODEL_NAME_RULE}")
    return name


def one_line(exc: ValidationError) -> str:
    """A validation error as one line: ``field: problem (got value)`` per field; a NaN or infinite number is said
    to be one (pydantic would report its range first)."""
    parts = []
    for e in exc.errors():
        field, value = ".".join(map(str, e["loc"])), e.get("input")
        problem = e["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        if isinstance(value, float) and not math.isfinite(value):
            problem = "must be a finite number"
        got = "" if "got " in problem or not field else f" (got {value!r})"
        parts.append(f"{field + ': ' if field else ''}{problem}{got}")
    return "; ".join(parts)


class Checked(BaseModel):
    """A pydantic model whose constructor raises InvalidInputError (one line naming field and value)."""

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidInputError(f"{type(self).__name__}: {one_line(exc)}") from None
