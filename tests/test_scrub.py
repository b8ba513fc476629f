"""Credentials in free text (provider errors, URLs) are replaced before anything stores, logs, raises or returns them:
a table of real-shaped secrets, one test per form."""

from __future__ import annotations

import logging

import pytest

from scope_core.errors import AllCandidatesFailedError, StoreError
from scope_core.outcome import Outcome
from scope_core.routing.call import error_text
from scope_core.scrub import PROMPT_REDACTED, REDACTED, private_error, scrub

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq98VxK3xq0Ygl5f2Hk1rW0Q5u8g\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAA\n"
    "-----END RSA PRIVATE KEY-----"
)
# (form, text a provider or a library could put in an error, the secret in it)
SECRETS = [
    ("openai key", "Error code: 401 - invalid key sk-proj-Ab3dEf6hIj9kLmN0pQrStUvWxYz12345", "sk-proj-Ab3d"),
    ("anthropic key", "401 {'type': 'authentication_error'} sk-ant-api03-x7Yq2LmN9pQrS8tUv0wXyZ", "sk-ant-api03"),
    ("basic auth as a dict", "headers={'Authorization': 'Basic dXNlcjpodW50ZXIy'}", "dXNlcjpodW50ZXIy"),
    ("x-api-key as a dict", "sent {'x-api-key': '8f14e45fceea167a5a36dedd4bea2543', 'accept': 'json'}", "8f14e45f"),
    ("x-goog-api-key as a dict", "{'x-goog-api-key': 'g0OgL3K3yAbCdEf0123456789'}", "g0OgL3K3y"),
    ("aws secret", "botocore: aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY denied", "wJalrXUtn"),
    ("json api_key", '{"api_key": "3f9a1c2b7d8e4f60a1b2c3d4", "model": "m"}', "3f9a1c2b7d8e"),
    ("json password", '{"user": "ann", "password": "correct horse battery staple"}', "correct horse"),
    ("env variable", "KeyError: OPENAI_API_KEY=thisIsMyVeryLongSecretValue123 not accepted", "thisIsMyVery"),
    (
        "cookie header",
        "request had Cookie: session=9c1185a5c5e9fc54612808977ee8f548b2258d31; theme=dark",
        "9c1185a5c5e9",
    ),
    ("pem private key", f"cannot load key:\n{PEM}\nend", "MIIEpAIBAAKCAQEA"),
    (
        "slack webhook",
        "POST https://hooks.slack.com/services/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: 404",
        "qFaSd7yR",
    ),
    ("bearer header", "Authorization: Bearer ya29.a0AfB_byC1x2Y3z4W5v6U7t8S9r0Q", "a0AfB_byC1x2"),
    (
        "google key in a url",
        "400 for url https://generativelanguage.googleapis.com/v1/m:gen?key=AIzaSyA1234567890abcdefghijk",
        "AIzaSy",
    ),
    ("password in a url", "connect to https://admin:hunter2@db.internal:8000 failed", "hunter2"),
    ("github token", "clone failed: ghp_16C7e42F292c6912E7710c838347Ae178B4a", "ghp_16C7e42F"),
    (
        "json web token",
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N rejected",
        "eyJzdWIi",
    ),
    ("stripe key", "stripe: No such customer; key sk_live_51H8xYzAbCdEfGhIjKlMnOp used", "sk_live_51H8"),
]


@pytest.mark.parametrize(("text", "secret"), [s[1:] for s in SECRETS], ids=[s[0] for s in SECRETS])
def test_each_form_of_secret_is_redacted(text, secret):
    cleaned = scrub(text)
    assert secret not in cleaned and REDACTED in cleaned
    assert scrub(cleaned) == cleaned, "scrubbing twice changes nothing"


@pytest.mark.parametrize(
    "text",
    [
        "RateLimitError: 429 Too Many Requests (retry after 3 s); model=gpt-4o, tokens=812",
        "BadRequestError: max_tokens=4096 is above the limit; input_tokens: 50",
        "Connection refused to https://api.openai.com/v1/chat/completions",
    ],
)
def test_plain_errors_are_left_alone(text):
    assert scrub(text) == text


@pytest.mark.parametrize(("text", "secret"), [s[1:] for s in SECRETS], ids=[s[0] for s in SECRETS])
def test_every_error_text_the_library_makes_is_scrubbed(text, secret):
    failed = AllCandidatesFailedError({"m-a": RuntimeError(text), "m-b": ValueError("boom")})
    assert secret not in str(failed) and str(failed).startswith("every candidate failed (m-a: RuntimeError: ")
    assert secret not in error_text(RuntimeError(text))
    assert secret not in str(StoreError(f"store at x: {text}"))
    assert secret not in Outcome(prompt="p", model="m", error=text).error


def test_logged_messages_and_tracebacks_are_scrubbed_also_on_child_loggers(caplog):
    import scope_core.routing.records  # noqa: F401  (installs the filters, as any use of the router does)

    caplog.set_level(logging.DEBUG, logger="scope_core")
    try:
        raise RuntimeError("upstream said 401 for ?api_key=abcdef123456")
    except RuntimeError:
        logging.getLogger("scope_core").exception("call failed with Authorization: Bearer %s", "sk-live-abcdefgh123")
    logging.getLogger("scope_core.decisions").debug("run r: %s", SECRETS[3][1])
    text = caplog.text
    assert "sk-live" not in text and "abcdef123456" not in text and "8f14e45f" not in text
    assert text.count(REDACTED) >= 3 and "Traceback" in text and "RuntimeError: upstream said 401" in text


def test_an_error_that_echoes_the_prompt_keeps_its_class_and_first_line_without_it():
    prompt = "My card number is 4111 1111 1111 1111 and my PIN is 4321, can you check my balance?"
    error = (
        f"BadRequestError: Error code: 400 - the input 'My card number is 4111 1111 1111 1111 and my PIN is 4321' "
        f"was flagged by the content filter\n{{'messages': [{{'content': '{prompt}'}}]}}"
    )
    kept = private_error(error, prompt)
    assert kept.startswith("BadRequestError: Error code: 400 - the input ") and "flagged" in kept
    assert "4111" not in kept and "4321" not in kept and "messages" not in kept and PROMPT_REDACTED in kept
    assert private_error("ValueError: hunter2 is wrong", "hunter2") == f"ValueError: {PROMPT_REDACTED} is wrong"
    long_quote = private_error("APIError: rejected 'a part of the conversation the routing text lacks'", "other")
    assert "conversation" not in long_quote
