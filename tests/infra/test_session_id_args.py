"""Every command that takes a session id refuses one outside the rule: exit 2, the id never echoed raw."""

from __future__ import annotations

import pytest

from infra.cli.main import build_parser

COMMANDS = [
    ["stream", "call.wav", "--session", "{id}"],
    ["replay", "{id}"],
    ["export", "{id}", "out.wav"],
    ["report", "{id}"],
    ["audit", "verify", "{id}"],
]
HOSTILE = ["../../x", "a\nb", "\x1b]0;owned\x07", "x" * 10_000, "", "a b"]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("session", HOSTILE, ids=range(len(HOSTILE)))
def test_a_hostile_session_id_exits_2(command: list[str], session: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([session if arg == "{id}" else arg for arg in command])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "expected a session id of 1-128 characters" in err
    assert "\x1b" not in err and "\x07" not in err and len(err) < 2_000


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_valid_session_id_parses(command: list[str]) -> None:
    args = build_parser().parse_args(["call-1.2:x" if arg == "{id}" else arg for arg in command])
    assert "call-1.2:x" in (getattr(args, "session", None),)


def test_query_tables_and_human_output_escape_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from infra.cli.archive_commands import _table
    from infra.cli.common import emit

    table = _table(["session_id", "text"], [("\x1b[2Jevil\nrow", "bell\x07 and \u202eflip")])
    assert "\x1b" not in table and "\x07" not in table and "\u202e" not in table
    assert "\\x1b[2Jevil\\x0arow" in table and len(table.splitlines()) == 4
    emit(argparse.Namespace(json=False), {}, "line one\nsession \x1b[31mred")
    assert capsys.readouterr().out == "line one\nsession \\x1b[31mred\n"
