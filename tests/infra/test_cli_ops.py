"""The command line's operability (issue 16, items 6 and 8): version, completion, JSON errors,
--log-level anywhere, progress only on a terminal, and the exported event schemas."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import msgspec
import pytest

from infra.cli.main import build_parser, main, package_version
from infra.cli.progress import Progress, progress
from infra.cli.schema_commands import TOPIC_OF, event_types, json_schema
from schemas import AudioChunk, ModelOutput, Topics
from schemas.envelope import Stamper


def test_version_is_the_installed_packages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"microturn {package_version()}" and package_version() != "unknown"


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_name_every_command(shell: str) -> None:
    script = subprocess.run(
        [sys.executable, "-m", "infra.cli.main", "completion", shell], capture_output=True, text=True, check=True
    ).stdout
    for command in ("up", "status", "serve", "replay", "schemas", "audit", "keygen"):
        assert command in script
    if shell == "bash":
        assert subprocess.run(["bash", "-n"], input=script, text=True, check=False).returncode == 0


def test_log_level_is_accepted_before_and_after_the_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["status", "--log-level", "debug"]).log_level == "debug"
    assert parser.parse_args(["--log-level", "info", "status"]).log_level == "info"
    assert parser.parse_args(["status"]).log_level == "warning"
    assert parser.parse_args(["audit", "keygen", "--log-level", "error"]).log_level == "error"


def test_errors_are_one_json_object_on_stderr_under_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", "s1", str(tmp_path / "out.txt"), "--json", "--kafka", "127.0.0.1:1"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert json.loads(err) == {
        "error": "OUT must end in .wav or .mp4; got " + repr(str(tmp_path / "out.txt")),
        "kind": "CommandError",
        "command": "export",
        "exit_code": 2,
    }
    assert main(["export", "s1", str(tmp_path / "out.txt"), "--kafka", "127.0.0.1:1"]) == 2
    assert capsys.readouterr().err.startswith("microturn export: OUT must end in .wav or .mp4")
    # A usage error (argparse's) too: one JSON object under --json, argparse's usage text otherwise.
    with pytest.raises(SystemExit) as usage:
        main(["replay", "bad id!", "--json"])
    out, err = capsys.readouterr()
    assert usage.value.code == 2 and out == ""
    assert json.loads(err)["kind"] == "UsageError" and "expected a session id" in json.loads(err)["error"]
    with pytest.raises(SystemExit):
        main(["replay", "bad id!"])
    assert capsys.readouterr().err.startswith("usage: microturn replay")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_only_on_a_terminal() -> None:
    pipe, tty = io.StringIO(), _Tty()
    with progress("syncing", out=pipe):
        time.sleep(0.3)
    with progress("syncing", total=4, out=tty) as bar:
        bar.advance(2)
        time.sleep(0.5)
    assert pipe.getvalue() == ""
    assert "syncing [###############---------------] 2/4" in tty.getvalue()
    assert tty.getvalue().endswith("\r\x1b[2K")  # erased at the end
    assert Progress("replaying").line().startswith("replaying ")


def _events() -> list[msgspec.Struct]:
    stamper = Stamper("test", "s1")
    chunk = AudioChunk(**stamper.stamp("audio", 0, 0, 0), samples=b"\0\0" * 3200, valid_samples=3200)
    output = ModelOutput(**stamper.stamp("output", 0, 0, 0), action="SPEAK", text="hi", audio=b"\1" * 6400)
    return [chunk, output]


def test_the_json_schema_is_valid_and_real_events_validate_against_it() -> None:
    doc = json_schema("acme")
    jsonschema.Draft202012Validator.check_schema(doc)
    validator = jsonschema.Draft202012Validator(doc)
    for event in _events():
        validator.validate(json.loads(msgspec.json.encode(event)))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"schema": "audio_chunk", "session_id": 3})
    assert doc["x-microturn"]["topics"]["model_output"] == Topics("acme").output
    assert set(TOPIC_OF) == {kind.__struct_config__.tag for kind in event_types()}  # every type has a topic


def test_schemas_command_prints_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "--format", "json-schema"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["x-microturn"]["encoding"] == "msgpack" and doc["x-microturn"]["tag_field"] == "schema"
    assert main(["schemas", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert {"schema": "micro_turn", "type": "MicroTurn", "topic": "microturn.turns"}.items() <= next(
        row for row in table["events"] if row["schema"] == "micro_turn"
    ).items()


def test_the_readmes_audit_keygen_line_is_what_the_parser_accepts() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "microturn audit keygen --key KEY" in readme and "audit keygen KEY" not in readme
    assert build_parser().parse_args(["audit", "keygen", "--key", "KEY"]).key == "KEY"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["audit", "keygen", "KEY"])  # the README's old line
