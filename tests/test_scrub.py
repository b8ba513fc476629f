"""Credentials in free text (provider errors, URLs) are replaced before anything stores, logs or returns them."""

from __future__ import annotations

import pytest

from scope_core.routing.call import error_text
from scope_core.scrub import REDACTED, scrub


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "400 for url https://generativelanguage.googleapis.com/v1/m:gen?key=AIzaSyA1234567890abcdefghijk&alt=sse",
            "AIzaSy",
        ),
        ("GET https://host/x?api_key=abc123secret&x=1", "abc123secret"),
        ("https://host/x?access_token=tok-9f8e7d6c", "tok-9f8e7d6c"),
        ("Incorrect API key provided: sk-proj-abcdefghijklmnop1234.", "sk-proj"),
        ("anthropic: invalid x-api-key sk-ant-api03-abcdefghijk", "sk-ant"),
        ("headers={'Authorization': 'Bearer abc.def.ghi12345'}", "abc.def"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("x-api-key: 0123456789abcdef", "0123456789abcdef"),
        ("connect to https://admin:hunter2@db.internal:8000 failed", "hunter2"),
        ("hf token hf_abcdefghijklmnopqrstu rejected", "hf_abc"),
        ("aws AKIAABCDEFGHIJKLMNOP denied", "AKIAABCDEFGHIJKLMNOP"),
    ],
)
def test_credentials_are_redacted(text, secret):
    cleaned = scrub(text)
    assert secret not in cleaned and REDACTED in cleaned


def test_plain_errors_are_left_alone():
    text = "RateLimitError: 429 Too Many Requests (retry after 3 s); model=gpt-4o, tokens=812"
    assert scrub(text) == text


def test_error_text_of_an_adapter_failure_is_scrubbed():
    text = error_text(RuntimeError("401 at https://api.x.ai/v1?key=sk-live-abcdefgh12345678"))
    assert text.startswith("RuntimeError: 401 at https://api.x.ai/v1?key=") and "sk-live" not in text


def test_logged_messages_and_tracebacks_are_scrubbed(caplog):
    import logging

    import scope_core.routing.router  # noqa: F401  (installs the filter, as any use of the router does)

    log = logging.getLogger("scope_core")
    caplog.set_level(logging.INFO, logger="scope_core")
    try:
        raise RuntimeError("upstream said 401 for ?api_key=abcdef123456")
    except RuntimeError:
        log.exception("call failed with Authorization: Bearer %s", "sk-live-abcdefgh12345678")
    text = caplog.text
    assert "sk-live" not in text and "abcdef123456" not in text and text.count(REDACTED) >= 2
    assert "Traceback" in text and "RuntimeError: upstream said 401" in text
