"""The session id rule and the escaping of untrusted text for humans."""

from __future__ import annotations

import pytest

from schemas.errors import InvalidSessionId, SchemaError
from schemas.ids import check_session_id, escape_controls, is_session_id

HOSTILE_IDS = [
    "",
    "a b",
    'quo"te',
    "it's",
    "../../etc/passwd",
    "a/b",
    "line\nbreak",
    "\x1b[31mred\x1b[0m",
    "x" * 129,
    "x" * 10_000,
    "naïve",
    "tab\t",
    "nul\x00",
]


@pytest.mark.parametrize("value", HOSTILE_IDS, ids=range(len(HOSTILE_IDS)))
def test_ids_outside_the_rule_are_refused_with_a_bounded_printable_message(value: str) -> None:
    assert not is_session_id(value)
    with pytest.raises(InvalidSessionId, match=r"expected a session id of 1-128 characters") as info:
        check_session_id(value)
    message = str(info.value)
    assert isinstance(info.value, SchemaError) and isinstance(info.value, ValueError)
    assert message.isprintable() and len(message) < 200


@pytest.mark.parametrize("value", ["a", "call-1.2:x_Y", "CA" + "0" * 32, "x" * 128])
def test_ids_of_the_allowed_form_pass(value: str) -> None:
    assert is_session_id(value) and check_session_id(value) == value


def test_non_strings_are_not_ids() -> None:
    assert not is_session_id(None) and not is_session_id(12) and not is_session_id(b"abc")


def test_control_characters_are_escaped_for_humans() -> None:
    assert escape_controls("a\x1b[2Jb\nc\u202ed") == "a\\x1b[2Jb\\x0ac\\u202ed"
    assert escape_controls("a\x1bb\nc", keep_newlines=True) == "a\\x1bb\nc"
    assert escape_controls("plain text, ünïcode") == "plain text, ünïcode"
