"""An estimator LLM on an OpenAI-compatible server (vLLM, SGLang, ...), given as ``URL#MODEL``.

Needs the optional ``langchain-openai`` package (``pip install 'scope-router[reasoning]'``); it is
imported only when such an LLM is built, so scope_core itself never depends on it.
"""

from __future__ import annotations

import os
from typing import Any

from scope_core.errors import InvalidInputError, ScopeError

COT_MAX_TOKENS = 2048  # room for SCOPE's analysis before the final line (SCOPE's own default)
NO_COT_MAX_TOKENS = 48  # the final line only


def parse_llm_spec(spec: str) -> tuple[str, str]:
    """``http://host:8000/v1#Cooolder/SCOPE`` -> (base URL, model name)."""
    url, sep, model = spec.partition("#")
    if not sep or not url.startswith(("http://", "https://")) or not model:
        raise InvalidInputError(f"expected URL#MODEL (e.g. http://localhost:8000/v1#Cooolder/SCOPE), got {spec!r}")
    return url, model


def openai_compatible_llm(spec: str, *, no_cot: bool = False, timeout_s: float = 30.0) -> Any:
    """A ``ChatOpenAI`` on the server and model of ``spec`` (temperature 0; API key from $OPENAI_API_KEY)."""
    url, model = parse_llm_spec(spec)
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise ScopeError(
            "--estimator-llm URL#MODEL needs the optional langchain-openai package: "
            "pip install 'scope-router[reasoning]' (or pip install langchain-openai)"
        ) from None
    return ChatOpenAI(
        base_url=url,
        model=model,
        api_key=os.environ.get("OPENAI_API_KEY", "EMPTY"),
        temperature=0.0,
        max_tokens=NO_COT_MAX_TOKENS if no_cot else COT_MAX_TOKENS,
        timeout=timeout_s,
        max_retries=1,
    )
