"""The producer's reconnect window: how long a send rides out an unreachable broker."""

from __future__ import annotations

import pytest

from schemas.errors import ConfigError
from streams.producer import DEFAULT_RECONNECT_S, RECONNECT_ENV, reconnect_window_s


def test_the_window_defaults_and_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RECONNECT_ENV, raising=False)
    assert reconnect_window_s() == DEFAULT_RECONNECT_S
    monkeypatch.setenv(RECONNECT_ENV, "12.5")
    assert reconnect_window_s() == 12.5


@pytest.mark.parametrize("raw", ["0", "-3", "soon", "7200"])
def test_a_malformed_window_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(RECONNECT_ENV, raw)
    with pytest.raises(ConfigError, match=f"{RECONNECT_ENV}: expected seconds in \\(0, 3600\\]; got '{raw}'"):
        reconnect_window_s()
