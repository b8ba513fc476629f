"""Remove credentials from free text (provider error messages, store URLs) before it is stored, logged or returned.

Covers keys in URL query strings (``?key=...``, ``api_key``, ``token``, ``signature``...), user:password in
URLs, ``Authorization`` / ``api-key`` style headers, and bearer and vendor key formats (``sk-...``,
``sk-ant-...``, ``AIza...``, ``hf_...``, ``ghp_...``, ``xox?-...``, AWS access key ids).
Records logged under the ``scope_core`` logger (messages and tracebacks) are scrubbed too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

REDACTED = "[REDACTED]"

_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # user:password@host in URLs
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), rf"\1{REDACTED}@"),
    # secrets in query strings or key=value text
    (
        re.compile(
            r"(?i)\b((?:api[_-]?key|key|token|access[_-]?token|refresh[_-]?token|secret|client[_-]?secret|password|"
            r"passwd|pwd|sig|signature|auth|x-amz-signature|x-amz-credential)=)[^&\s\"'<>]+"
        ),
        rf"\1{REDACTED}",
    ),
    # headers: Authorization: Bearer xxx, x-api-key: xxx, api-key: xxx
    (
        re.compile(
            r"(?i)\b(authorization|proxy-authorization)(\"?\s*[:=]\s*\"?)(?:(bearer|basic|token)\s+)?[^\s\"',}]+"
        ),
        lambda m: f"{m[1]}{m[2]}{m[3] + ' ' if m[3] else ''}{REDACTED}",
    ),
    (re.compile(r"(?i)\b(x-api-key|api-key|x-goog-api-key)(\"?\s*[:=]\s*\"?)[^\s\"',}]+"), rf"\1\2{REDACTED}"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), f"Bearer {REDACTED}"),
    # vendor key formats
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), REDACTED),
    (re.compile(r"\b(?:hf|ghp|gho|ghs|github_pat|glpat|xox[abprs])[_-][A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
)


def scrub(text: str) -> str:
    """``text`` with every credential pattern above replaced by ``[REDACTED]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class ScrubFilter(logging.Filter):
    """Scrubs the message and traceback of every record logged under ``scope_core``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


# installed once, on import: every scope_core module that logs imports this one through the router
logging.getLogger("scope_core").addFilter(ScrubFilter())
