"""Worker settings: the assembler's bounds come from the environment, checked once."""

from __future__ import annotations

import pytest

from processors.errors import ConfigError
from processors.settings import WorkerSettings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("MICROTURN_KAFKA", "127.0.0.1:9092")
    monkeypatch.setenv("MICROTURN_TRITON", "127.0.0.1:8001")
    return monkeypatch


def test_the_clock_bounds_default_to_a_few_seconds_and_a_day(env: pytest.MonkeyPatch) -> None:
    settings = WorkerSettings.from_env()
    assert settings.max_clock_jump_ms == 5_000 and settings.max_session_ms == 86_400_000


def test_the_clock_bounds_are_read_from_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("MICROTURN_MAX_CLOCK_JUMP_MS", "2000")
    env.setenv("MICROTURN_MAX_SESSION_MS", "60000")
    settings = WorkerSettings.from_env()
    assert settings.max_clock_jump_ms == 2_000 and settings.max_session_ms == 60_000


@pytest.mark.parametrize(("name", "value"), [("MICROTURN_MAX_CLOCK_JUMP_MS", "-1"), ("MICROTURN_MAX_CLOCK_JUMP_MS",
                         "soon"), ("MICROTURN_MAX_SESSION_MS", "0")])  # fmt: skip
def test_bad_bounds_are_a_config_error_naming_the_variable(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        WorkerSettings.from_env()


def test_a_bad_redaction_pattern_stops_the_worker_at_start_up(env: pytest.MonkeyPatch) -> None:
    env.setenv("MICROTURN_REDACT_PATTERNS", '{"ticket": "TCK-(\\\\d"}')
    with pytest.raises(ConfigError, match=r"MICROTURN_REDACT_PATTERNS\['ticket'\]") as raised:
        WorkerSettings.from_env()
    assert raised.value.exit_code == 2
    env.setenv("MICROTURN_REDACT_PATTERNS", '{"ticket": "TCK-\\\\d{6}"}')
    assert WorkerSettings.from_env().redaction.patterns == {"ticket": "TCK-\\d{6}"}
