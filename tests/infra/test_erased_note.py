"""`microturn query` names the erased sessions of its result on stderr; values of a `session_id` column
that are not session ids (any SQL may name a column so) are never asked of the key store."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.query_archive_data import write_batch
from infra.cli.main import main
from streams.key_paths import use_state_dir


def test_query_rows_with_values_that_are_not_session_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MICROTURN_KEYS_DIR", "MICROTURN_KEY_STORE", "MICROTURN_MASTER_KEY", "MICROTURN_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    root, state = tmp_path / "archive", tmp_path / "state"
    write_batch(root, 0, sessions=2, turns=10, seed=1)
    store = state / "keys" / "sessions"
    store.mkdir(parents=True)
    (store / "s0000001.erased").write_text("")
    sql = (
        "SELECT * FROM (VALUES ('s0000001'), ('../../etc/passwd'), ('a b'), (''), ('x' || repeat('y', 200)), "
        "('s0000000')) t(session_id)"
    )
    try:
        code = main(["query", "--archive", str(root), "--state-dir", str(state), sql])
    finally:
        use_state_dir(None)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "../../etc/passwd" in out and "(6 rows)" in out
    assert "erased sessions in the result" in err and "s0000001" in err and "s0000000" not in err
