"""Where the archiver's signing key may live: apart from the archive, however both are configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.stack import Stack, StackSettings
from processors.archiver.settings import ArchiverSettings
from processors.errors import ConfigError
from schemas import Topics


def test_a_signing_key_inside_the_archive_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "state"
    with pytest.raises(ConfigError, match="lies inside the archive"):
        ArchiverSettings("127.0.0.1:9", Topics("t"), archive, archive / "audit" / "audit.key")
    ArchiverSettings("127.0.0.1:9", Topics("t"), archive / "archive", archive / "keys" / "audit.key")


def test_up_keeps_the_key_in_a_keys_folder_outside_the_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MICROTURN_AUDIT_KEY", "MICROTURN_KEYS_DIR", "MICROTURN_ARCHIVE_DIR"):
        monkeypatch.delenv(name, raising=False)
    stack = Stack(StackSettings(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache"))
    assert stack.audit_key_path() == (tmp_path / "state" / "keys" / "audit.key").resolve()
    assert not stack.audit_key_path().is_relative_to(tmp_path / "state" / "archive")
    monkeypatch.setenv("MICROTURN_KEYS_DIR", str(tmp_path / "vault"))
    assert stack.audit_key_path() == (tmp_path / "vault" / "audit.key").resolve()
    monkeypatch.setenv("MICROTURN_AUDIT_KEY", str(tmp_path / "hsm" / "k.pem"))
    assert stack.audit_key_path() == (tmp_path / "hsm" / "k.pem").resolve()
