"""`stream --model/--labels`, `eval` and `export --format` arguments: bad input exits 2 before
anything is sent or read."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cli.main import build_parser, main


def test_stream_refuses_an_unknown_model_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["stream", "call.wav", "--model", "gpt-9"])
    assert info.value.code == 2
    assert "invalid choice: 'gpt-9'" in capsys.readouterr().err
    args = build_parser().parse_args(["stream", "call.wav", "--model", "harness"])
    assert args.model == "harness"


def test_stream_checks_the_labels_file_before_sending(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text('{"moments": [{"kind": "cough", "start_ms": 0, "end_ms": 10}]}')
    code = main(["stream", str(tmp_path / "call.wav"), "--labels", str(labels), "--kafka", "127.0.0.1:1"])
    assert code == 2
    assert "moments[0].kind must be one of ['pause', 'turn_end', 'backchannel', 'interruption']; got 'cough'" in (
        capsys.readouterr().err
    )


def test_eval_takes_session_ids_or_fleet_and_a_known_model(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["eval", "../x"])
    assert info.value.code == 2
    args = build_parser().parse_args(["eval", "a", "b", "--model", "harness", "--json"])
    assert (args.sessions, args.model, args.fleet) == (["a", "b"], "harness", False)
    code = main(["eval", "a", "--model", "no-such.pt", "--archive", "/nonexistent"])
    assert code == 2
    assert "expected 'harness', 'interaction' or a checkpoint file; got 'no-such.pt'" in capsys.readouterr().err
    code = main(["eval", "a", "--fleet", "--archive", "/nonexistent"])
    assert code == 2


def test_export_format_choices() -> None:
    assert build_parser().parse_args(["export", "s", "dir", "--format", "full-duplex-bench"]).format == (
        "full-duplex-bench"
    )
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "s", "dir", "--format", "fdb2"])
