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

from pathlib import Path
from typing import Any

import duckdb
import duckdb.func as duckdb_func

from schemas.encryption import PAYLOAD_FIELDS
from schemas.envelope import Event
from schemas.errors import DecodeError
from streams.keystore import KeyStoreError
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


def archived_events(root: Path, table: str, session_id: str) -> list[Event]:
    """The session's events of archive table `table` (a schema tag), as archived (possibly encrypted)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from processors.archiver.tables import TABLES

    spec, folder = TABLES[table], root / table
    if not folder.is_dir():
        return []
    dataset = ds.dataset(folder, schema=spec.schema, format="parquet", ignore_prefixes=[".", "_"])
    return [
        spec.event_from_row(row) for row in dataset.to_table(filter=pc.field("session_id") == session_id).to_pylist()
    ]


def task_texts(root: Path, session_id: str, vault: Vault | None = None) -> dict[str, str]:
    """task id -> the task the model delegated, opened; tasks that cannot be opened are left out."""
    opener = vault if vault is not None else current()
    texts: dict[str, str] = {}
    for event in archived_events(root, "background_task", session_id):
        try:
            opened: Any = opener.open(event)
        except (DecodeError, KeyStoreError):
            continue
        texts[opened.task_id] = opened.task
    return texts
