"""`query --json` writes rows of scalars itself (json's indenting encoder is slow): byte for byte what
`json.dumps(..., indent=1)` writes, for every kind of value DuckDB returns."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from infra.cli.archive_commands import _cell, _json_rows

ROWS: list[tuple[object, ...]] = [
    ("s0000042", 0, 0.1231929138302803, True, None, "LISTEN"),
    ('caf\u00e9 \u202e\x1b[2J "quoted" \\ \n\t\ud83d\ude00', -(2**70), float("nan"), False, None, ""),
    ("", 2**63, float("inf"), True, None, "x"),
    ("z", 1, float("-inf"), False, None, "y"),
    ("z", 1, -0.0, False, None, "y"),
    ("z", 1, 1e300, False, None, "y"),
]
AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
COLUMNS = ["session_id", "turn", "rms", "speaking", "nothing", "action"]


def _expected(columns: list[str], rows: list[tuple[object, ...]]) -> str:
    return json.dumps([{c: _cell(v, False) for c, v in zip(columns, row, strict=True)} for row in rows], indent=1)


@pytest.mark.parametrize(
    ("columns", "rows"),
    [
        (COLUMNS, ROWS),
        (COLUMNS, []),  # no rows
        ([], [(), ()]),  # rows of no columns
        (["a", "a"], [(1, 2)]),  # a repeated name: the dict keeps one key
        (['\u00e9\x01 "k"'], [(1,)]),  # a name that needs escapes
        (["b", "t", "d", "n"], [(b"\x00\xff", AT, dt.date(2026, 1, 2), Decimal("1.5"))]),
        (["at", "list"], [(dt.time(1, 2, 3), [1, "two", None]), (None, [])]),  # a list: json writes it
        (["map"], [({"k": b"\x01", 2: [dt.date(2026, 1, 1)]},)]),  # a map: json writes it
    ],
)
def test_json_rows_are_what_json_dumps_writes(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    assert _json_rows(columns, rows) == _expected(columns, rows)
