"""Logs as JSON lines, other libraries' records through our renderer, rotation (issue 16, item 4)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from infra import process
from processors import logs
from schemas.errors import ConfigError


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    logs.configure("warning", json=False, log_file="")
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_format_from_the_environment_covers_structlog_and_stdlib_records(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(logs.FORMAT_ENV, "json")
    monkeypatch.delenv(logs.FILE_ENV, raising=False)
    logs.configure("info")
    structlog.get_logger("t").info("ours", session_id="s1")
    logging.getLogger("aiokafka.consumer").warning("\x1b[31mcolored %s\x1b[0m token=abc", "faust")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["event"] == "ours" and lines[0]["session_id"] == "s1" and lines[0]["level"] == "info"
    foreign = lines[1]
    assert foreign["event"] == "colored faust token=***" and foreign["level"] == "warning"
    assert foreign["logger"] == "aiokafka.consumer" and foreign["timestamp"].endswith("Z")
    assert logging.getLogger().handlers == [logs._handlers["stdlib"]]


def test_faust_style_handlers_are_replaced_by_ours(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", json=False, log_file="")
    logging.getLogger().addHandler(logging.StreamHandler())  # what mode/faust install at worker start
    logs.route_stdlib(logging.WARNING)
    logging.getLogger("faust.worker").error("\x1b[1mboom\x1b[0m")
    err = capsys.readouterr().err
    assert err.count("boom") == 1 and "\x1b" not in err and "logger=faust.worker" in err


def test_a_bad_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(logs.FORMAT_ENV, "xml")
    with pytest.raises(ConfigError, match="MICROTURN_LOG_FORMAT must be 'json' or 'logfmt'; got 'xml'"):
        logs.configure("info")


def test_the_log_file_rotates_by_size_and_keeps_the_backups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "worker-0.log"
    monkeypatch.setenv(logs.MAX_BYTES_ENV, "2000")
    monkeypatch.setenv(logs.BACKUPS_ENV, "2")
    logs.configure("info", json=True, log_file=str(path))
    log = structlog.get_logger("t")
    for index in range(200):
        log.info("line", index=index)
    logging.getLogger("aiokafka").warning("foreign line")
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["worker-0.log", "worker-0.log.1", "worker-0.log.2"]
    assert all(p.stat().st_size <= 2000 for p in tmp_path.iterdir())
    newest = [json.loads(line) for line in path.read_text().splitlines()]
    assert newest[-1]["event"] == "foreign line" and newest[-2]["index"] == 199
    older = [json.loads(line)["index"] for line in (tmp_path / "worker-0.log.1").read_text().splitlines()]
    assert older == list(range(older[0], newest[0]["index"]))  # nothing lost between the two files


def test_spawn_rotates_an_output_file_that_outgrew_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "kafka.log"
    out.write_text("x" * 100)
    monkeypatch.setattr(process, "ROTATE_BYTES", 50)
    pid = process.spawn(["sh", "-c", "echo started"], out)
    for _ in range(100):
        if not process.is_alive(pid) and out.read_text():
            break
        process.time.sleep(0.05)
    assert (tmp_path / "kafka.log.1").read_text() == "x" * 100
    assert out.read_text() == "started\n"
    assert not process.rotate(out, 50)  # small enough: left alone
