"""Remove credentials from free text (provider error messages, store URLs) before it is stored, logged, raised or
put in metadata: the one scrub every such text passes through.

Covers user:password in URLs; PEM private keys; Slack, Discord and similar webhook URLs; ``Authorization`` /
``Proxy-Authorization`` (Bearer, Basic, Digest, Token), ``Cookie`` / ``Set-Cookie`` and key headers however they
are written (``Name: value``, a Python dict ``{'x-api-key': '...'}``, JSON ``"api_key": "..."``); any name that
ends in a secret word (``api_key``, ``OPENAI_API_KEY``, ``aws_secret_access_key``, ``password``, ``access_token``,
``client_secret``, ``signature``...) followed by ``=`` or ``:`` and its value; bearer tokens, JWTs and vendor key
formats (``sk-...``, ``sk-ant-...``, ``sk_live_...``, ``AIza...``, ``ya29.``, ``hf_...``, ``gh?_...``,
``github_pat_``, ``glpat-``, ``xox?-...``, ``gsk_``, ``r8_``, ``xai-``, ``pypi-``, ``npm_``, AWS key ids).
Records logged under ``scope_core`` and its child loggers (messages and tracebacks) are scrubbed too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

REDACTED = "[REDACTED]"
ERROR_CHARS = 500  # a failure's stored and reported error text is cut to this
PROMPT_REDACTED = "[PROMPT]"

# names whose value is a secret: the name may carry a prefix (OPENAI_API_KEY, aws_secret_access_key, x-api-key)
_SECRET_NAME = (
    r"(?:[A-Za-z0-9_.-]*?(?:api[_-]?key|access[_-]?key(?:[_-]?id)?|secret[_-]?key|private[_-]?key|auth[_-]?key|"
    r"secret|password|passwd|passphrase|access[_-]?token|refresh[_-]?token|id[_-]?token|session[_-]?token|"
    r"auth[_-]?token|bearer[_-]?token|_token|-token|credentials?|signature|x-amz-[a-z-]+)"
    r"|key|token|pwd|sig|auth|apikey|client[_-]?secret)"
)
_WEBHOOK_HOSTS = (
    r"(?:hooks\.slack\.com/(?:services|workflows|triggers)|(?:[a-z]+\.)?discord(?:app)?\.com/api/webhooks|"
    r"[a-z0-9.-]*webhook\.office\.com/webhookb2)"
)
_QUOTED_OR_BARE = r"(?:\[REDACTED\]|\"[^\"\n]*\"|'[^'\n]*'|[^\s&,;'\"<>})\]]+)"

_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # PEM private keys (also cut short, or with escaped newlines)
    (
        re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*)", re.S),
        f"{REDACTED} (a private key)",
    ),
    # user:password@host in URLs
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), rf"\1{REDACTED}@"),
    # webhook URLs carry their secret in the path
    (re.compile(rf"(?i)\b(https?://{_WEBHOOK_HOSTS}/)[^\s\"'<>]+"), rf"\1{REDACTED}"),
    # Authorization headers: the scheme is kept, the credentials go
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization)([\"']?[ \t]*[:=][ \t]*[\"']?)(?:(bearer|basic|digest|token|negotiate)\s+)?"
            r"[^\s\"',}]+"
        ),
        lambda m: f"{m[1]}{m[2]}{m[3] + ' ' if m[3] else ''}{REDACTED}",
    ),
    # cookies: the whole header value
    (re.compile(r"(?i)\b((?:set-)?cookie)([\"']?[ \t]*[:=][ \t]*[\"']?)[^\"'\n]+"), rf"\1\2{REDACTED}"),
    # name = value, name: value, "name": "value", 'name': 'value' (headers, dicts, JSON, env, query strings)
    (
        re.compile(rf"(?i)(?<![A-Za-z0-9_.-])({_SECRET_NAME})([\"']?[ \t]*(?:=|:(?!//))[ \t]*)({_QUOTED_OR_BARE})"),
        lambda m: f"{m[1]}{m[2]}{_quoted(m[3])}",
    ),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), f"Bearer {REDACTED}"),
    # JSON web tokens
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), REDACTED),
    # vendor key formats
    (re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}"), REDACTED),
    (re.compile(r"\b(?:sk|xai|pplx)-[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), REDACTED),
    (re.compile(r"\bya29\.[0-9A-Za-z_-]{8,}"), REDACTED),
    (
        re.compile(r"\b(?:hf|ghp|gho|ghs|ghu|ghr|github_pat|glpat|xox[abprse]|gsk|r8|npm)[_-][A-Za-z0-9_-]{8,}"),
        REDACTED,
    ),
    (re.compile(r"\bpypi-[A-Za-z0-9_-]{16,}"), REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
)


def _quoted(value: str) -> str:
    """``[REDACTED]`` in the value's own quotes."""
    return f"{value[0]}{REDACTED}{value[0]}" if value[:1] in "\"'" and len(value) > 1 else REDACTED


def scrub(text: str) -> str:
    """``text`` with every credential pattern above replaced by ``[REDACTED]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_LONG_QUOTE = re.compile(r"([\"'])(?:(?!\1).){24,}\1")


def private_error(error: str, prompt: str | None, limit: int = 300) -> str:
    """An error text as a store that keeps no prompts stores it: its class and its first line, scrubbed, with any
    stretch of the prompt it echoes (a run of at least 16 characters, or the whole of a shorter prompt) and any long
    quoted text (24 characters or more: an echo of the conversation) cut out."""
    kind, sep, rest = error.partition(": ")
    if not sep or not kind.isidentifier():
        kind, rest = "", error
    first = next((line for line in rest.splitlines() if line.strip()), "")
    line = scrub(_LONG_QUOTE.sub(PROMPT_REDACTED, _without(first, prompt or "")))[:limit]
    return f"{kind}: {line}" if kind else line


def _without(line: str, prompt: str) -> str:
    """``line`` with the stretches it shares with ``prompt`` replaced by ``[PROMPT]``."""
    size = max(4, min(16, len(prompt.strip())))
    if not prompt.strip() or len(line) < size:
        return line
    out, i = [], 0
    while i < len(line):
        if i + size <= len(line) and line[i : i + size] in prompt:
            end = i + size
            while end < len(line) and line[i : end + 1] in prompt:
                end += 1
            out.append(PROMPT_REDACTED)
            i = end
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


class ScrubFilter(logging.Filter):
    """Scrubs the message and traceback of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = ScrubFilter()


def scrubbed_logger(name: str = "scope_core") -> logging.Logger:
    """The logger ``name`` with the scrub filter on it (a logger's filter does not reach its children's records)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


# installed once, on import: every scope_core module that logs imports this one through the router
scrubbed_logger("scope_core")
