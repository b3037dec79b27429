"""Text arguments and JSONL transcripts: times on the session clock, precise errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streams.media import MediaError, TextLine, parse_text_arg, read_transcript
from streams.media.errors import CannotOpen, TextFormatError


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("1.5:hello there", TextLine(1500, "hello there")),
        ("0:hi", TextLine(0, "hi")),
        ("12:at 10:30, call me: now", TextLine(12_000, "at 10:30, call me: now")),
        ("0.0015:rounded", TextLine(2, "rounded")),
        (" 2 : spaced ", TextLine(2000, " spaced ")),
        ("3e1:thirty", TextLine(30_000, "thirty")),
    ],
)
def test_parse_text_arg(arg: str, expected: TextLine) -> None:
    assert parse_text_arg(arg) == expected


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("hello", "expected SECONDS:TEXT"),
        ("soon:hello", "SECONDS a number; got 'soon'"),
        ("-1:hello", "SECONDS >= 0 in SECONDS:TEXT; got '-1'"),
        ("nan:hello", "SECONDS >= 0"),
        ("1.5:", "expected some TEXT"),
        ("1.5:   ", "expected some TEXT"),
    ],
)
def test_parse_text_arg_errors(arg: str, message: str) -> None:
    with pytest.raises(TextFormatError, match=message) as caught:
        parse_text_arg(arg)
    assert isinstance(caught.value, MediaError) and isinstance(caught.value, ValueError)
    assert caught.value.kind == "bad_text"


def test_parse_text_arg_works_as_an_argparse_type(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--text", type=parse_text_arg, action="append")
    assert parser.parse_args(["--text", "1:a"]).text == [TextLine(1000, "a")]
    with pytest.raises(SystemExit):
        parser.parse_args(["--text", "oops"])
    assert "invalid parse_text_arg value" in capsys.readouterr().err


def test_read_transcript(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"t": 2.5, "text": "second", "speaker": "agent"}\n'
        "\n"
        '{"start_ms": 1200, "text": "first: hi"}\n'
        '{"t": 2.5, "text": "same time, later line"}\n'
        '{"t": 0, "text": "zero", "extra": [1, 2]}\n'
    )
    assert read_transcript(path) == [
        TextLine(0, "zero"),
        TextLine(1200, "first: hi"),
        TextLine(2500, "second", "agent"),
        TextLine(2500, "same time, later line"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "expected a JSON object; got invalid JSON"),
        ("[1, 2]", "expected a JSON object; got list"),
        ('{"text": "no time"}', 'exactly one of "t" or "start_ms"; got neither'),
        ('{"t": 1, "start_ms": 1000, "text": "x"}', "got both"),
        ('{"t": "1.5", "text": "x"}', "expected \"t\" to be a number; got '1.5'"),
        ('{"t": true, "text": "x"}', "got True"),
        ('{"start_ms": -5, "text": "x"}', 'expected "start_ms" >= 0; got -5'),
        ('{"t": 1}', 'expected "text" to be a non-empty string; got None'),
        ('{"t": 1, "text": ""}', "non-empty string; got ''"),
        ('{"t": 1, "text": "x", "speaker": 7}', 'expected "speaker" to be a non-empty string; got 7'),
    ],
)
def test_read_transcript_errors_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"t": 0, "text": "fine"}\n\n' + line + "\n")
    with pytest.raises(TextFormatError) as caught:
        read_transcript(path)
    assert f"transcript '{path}' line 3: " in str(caught.value)
    assert message in str(caught.value)


def test_read_transcript_file_errors(tmp_path: Path) -> None:
    with pytest.raises(CannotOpen, match="cannot open transcript"):
        read_transcript(tmp_path / "missing.jsonl")
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"t": 0, "text": "ok"}\n{"t": 1, "text": "caf\xe9"}\n')
    with pytest.raises(TextFormatError, match="line 2: expected UTF-8"):
        read_transcript(path)


@pytest.mark.parametrize("arg", ["1e30:hi", "86400.001:hi", "9" * 400 + ":hi"])
def test_a_text_time_beyond_the_longest_session_is_refused(arg: str) -> None:
    with pytest.raises(TextFormatError, match=r"expected SECONDS <= 86400 \(the longest session\)") as info:
        parse_text_arg(arg)
    assert len(str(info.value)) < 300


def test_a_giant_text_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(TextFormatError, match=r"at most 65536 bytes; got 70000"):
        parse_text_arg("1:" + "x" * 70_000)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('{"t": 1e30, "text": "hi"}', r'expected "t" at most 86400000 ms'),
        ('{"start_ms": 86400001, "text": "hi"}', r'expected "start_ms" at most 86400000 ms'),
        ('{"t": 1, "text": "hi", "speaker": "' + "s" * 200 + '"}', "speaker of at most 128"),
    ],
)
def test_transcript_lines_out_of_bounds_are_refused(tmp_path: Path, line: str, fragment: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(TextFormatError, match=fragment):
        read_transcript(path)
