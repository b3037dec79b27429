"""Encrypted payloads in SQL and reports: what analysts see of them, and what an erased session shows.

The archive's payload columns (`text`, `samples`, `task`, ...) hold their empty values for an
encrypted event; the payload itself is ciphertext in `encrypted` (`schemas.encryption`). Views and
aggregates over everything else (timings, actions, energy, counts) work as before, for erased
sessions too.

`microturn query` registers one DuckDB scalar function to read text in SQL:

    payload_text(schema, session_id, event_id, encrypted, field) -> VARCHAR

e.g. `SELECT turn, payload_text('text_event', session_id, event_id, encrypted, 'text') FROM
text_events`. It gives the field's text when this process holds the session's key, the plain
column's value is then empty; NULL when the event is not encrypted (read the column itself), when
the session was erased or its key is out of reach, and for non-text fields (audio, video).
"""

from __future__ import annotations

import duckdb
import duckdb.func as duckdb_func

from schemas.encryption import PAYLOAD_FIELDS
from schemas.envelope import Event
from schemas.errors import DecodeError
from streams.key_paths import KeyStoreError
from streams.vault import Vault, current

_KINDS: dict[str, type[Event]] = {kind.__struct_config__.tag: kind for kind in PAYLOAD_FIELDS}  # type: ignore[misc]


def register_payload_text(con: duckdb.DuckDBPyConnection, vault: Vault | None = None) -> None:
    """Add `payload_text(...)` (see the module) to `con`, opening with `vault` (default: the process's)."""
    opener = vault if vault is not None else current()

    def payload_text(schema: str, session_id: str, event_id: str, encrypted: bytes | None, field: str) -> str | None:
        kind = _KINDS.get(schema)
        if kind is None or not encrypted:
            return None
        try:
            value = opener.open_fields(kind, session_id, event_id, bytes(encrypted)).get(field)
        except (DecodeError, KeyStoreError):
            return None
        return value if isinstance(value, str) else None

    con.create_function(
        "payload_text",
        payload_text,
        ["varchar", "varchar", "varchar", "blob", "varchar"],
        "varchar",
        null_handling=duckdb_func.SPECIAL,
        side_effects=False,
    )


def task_texts(con: duckdb.DuckDBPyConnection, session_id: str, vault: Vault | None = None) -> dict[str, str]:
    """task id -> the task the model delegated in `session_id`, opened from the `background_tasks`
    view of `con`; tasks that cannot be opened (erased, key out of reach) are left out."""
    rows = con.execute(
        "SELECT task_id, event_id, encrypted FROM background_tasks "
        "WHERE session_id = ? AND octet_length(encrypted) > 0",
        [session_id],
    ).fetchall()
    if not rows:
        return {}
    opener = vault if vault is not None else current()
    kind = _KINDS["background_task"]
    texts: dict[str, str] = {}
    for task_id, event_id, encrypted in rows:
        try:
            task = opener.open_fields(kind, session_id, str(event_id), bytes(encrypted)).get("task")
        except (DecodeError, KeyStoreError):
            continue
        if isinstance(task, str):
            texts[str(task_id)] = task
    return texts
