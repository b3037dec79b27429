"""The log chain: secrets never reach a log line (item 19), tracebacks always do (item 20)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog

from processors import logs


@pytest.fixture
def configured() -> Iterator[None]:
    logs.configure("info")
    yield
    structlog.reset_defaults()


def test_log_exception_writes_the_traceback_not_the_word_exc_info(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    log = structlog.get_logger("test_logs")
    try:
        1 / 0  # noqa: B018 - the exception under test
    except ZeroDivisionError:
        log.exception("call_crashed", peer="127.0.0.1:5")
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "ZeroDivisionError: division by zero" in err
    assert "test_log_exception_writes_the_traceback" in err  # the frame it happened in
    assert "exc_info=True" not in err


def test_secrets_are_masked_in_every_field_and_string(configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    log = structlog.get_logger("test_logs")
    log.warning(
        "connection_refused",
        path="/pcm?lang=en&access_token=s3cr3t-query-value&x=1",
        url="wss://h/x?token=s3cr3t-other",
        authorization="Bearer s3cr3t-bearer-value",
        headers={"X-Twilio-Signature": "s3cr3t-signature", "Host": "calls.example.com"},
        why="got header Authorization: Basic s3cr3tBasicValue",
        error="X-Twilio-Signature=s3cr3tSig99 in request",
        api_key="s3cr3t-key",
    )
    err = capsys.readouterr().err
    assert "s3cr3t" not in err
    assert "lang=en" in err and "x=1" in err and "calls.example.com" in err  # the rest is kept
    assert "access_token=***" in err


def test_the_json_renderer_gets_the_same_chain(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", json=True)
    try:
        log = structlog.get_logger("test_logs_json")
        try:
            raise ValueError("bad token=abcdef123456 here")
        except ValueError:
            log.exception("failed", token="abcdef123456")
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        structlog.reset_defaults()
    assert line["token"] == logs.MASK
    assert "ValueError: bad token=***" in line["exception"]
    assert "abcdef123456" not in json.dumps(line)


def test_a_plain_sentence_about_tokens_is_left_alone() -> None:
    assert logs.redact("the bearer token does not match") == "the bearer token does not match"
    assert logs.redact("Authorization scheme 'Basic' is not Bearer") == "Authorization scheme 'Basic' is not Bearer"
