"""Every SQL block of examples/sql/README.md runs against the archive's views (issue 16, item 7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from replay.analytics.views import query

WALKTHROUGH = Path(__file__).parents[2] / "examples" / "sql" / "README.md"
BLOCKS = re.findall(r"```sql\n(.*?)```", WALKTHROUGH.read_text(), re.S)


def test_the_walkthrough_has_its_queries() -> None:
    assert len(BLOCKS) == 6


@pytest.mark.parametrize("sql", BLOCKS, ids=[f"query-{i + 1}" for i in range(len(BLOCKS))])
def test_each_query_binds_against_the_views(sql: str, tmp_path: Path) -> None:
    """An empty archive has every view with its columns: a misspelt view or column fails here."""
    columns, rows = query(tmp_path, sql)
    assert columns and rows == []
