"""Redaction settings are checked when a command starts: a bad pattern is exit 2, nothing served."""

from __future__ import annotations

import json

import pytest

from infra.cli.main import main


@pytest.mark.parametrize("command", [["serve", "ws"], ["serve", "twilio"]])
def test_a_bad_redaction_pattern_is_exit_2_naming_it(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MICROTURN_WS_TOKEN", "a-token-long-enough-0123456789")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "a-token-long-enough-0123456789")
    monkeypatch.setenv("MICROTURN_REDACT_PATTERNS", '{"ticket": "TCK-(\\\\d"}')
    code = main([*command, "--json", "--kafka", "127.0.0.1:1"])
    error = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert code == 2 and error["exit_code"] == 2
    assert "MICROTURN_REDACT_PATTERNS['ticket']" in error["error"] and "not a regular expression" in error["error"]
