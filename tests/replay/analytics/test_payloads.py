"""Encrypted text in reports: a delegation's task is opened from the view's ciphertext, erased is left out."""

from __future__ import annotations

from pathlib import Path

import duckdb

from replay.analytics.payloads import task_texts
from schemas import BackgroundTask
from schemas.encryption import new_data_key
from streams.keystore import KeyStore
from streams.vault import Vault


def _task(session_id: str, seq: int, task: str) -> BackgroundTask:
    return BackgroundTask(
        event_id=f"{session_id}/tasks/{seq}",
        session_id=session_id,
        seq=seq,
        event_time_ms=200 * seq,
        turn=seq,
        task_id=f"{session_id}-t{seq}",
        task=task,
    )


def test_delegated_tasks_are_opened_from_the_view_and_an_erased_session_shows_none(tmp_path: Path) -> None:
    master = new_data_key()
    vault = Vault(KeyStore(tmp_path, master), encrypting=True)
    sealed = [vault.encrypt(_task("s1", 1, "what is 6*7")), vault.encrypt(_task("s1", 2, "weather in Oslo"))]
    assert all(t.encrypted and not t.task for t in sealed)
    con = duckdb.connect()
    con.execute("CREATE TABLE background_tasks (session_id VARCHAR, task_id VARCHAR, event_id VARCHAR, encrypted BLOB)")
    for t in [*sealed, _task("s2", 1, "in the clear")]:
        con.execute(
            "INSERT INTO background_tasks VALUES (?, ?, ?, ?)", [t.session_id, t.task_id, t.event_id, t.encrypted]
        )
    reader = Vault(KeyStore(tmp_path, master), encrypting=False)
    assert task_texts(con, "s1", reader) == {"s1-t1": "what is 6*7", "s1-t2": "weather in Oslo"}
    assert task_texts(con, "s2", reader) == {}  # not encrypted: the view's own column holds the text
    KeyStore(tmp_path, None).erase("s1")
    assert task_texts(con, "s1", Vault(KeyStore(tmp_path, master), encrypting=False)) == {}
