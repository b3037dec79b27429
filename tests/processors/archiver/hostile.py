"""Producing hand-made events and rewriting an archive the way an attacker with write access would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from aiokafka import AIOKafkaProducer

from processors.archiver.tables import TABLES
from schemas import Event, encode
from schemas.audit import GENESIS, digest, link


async def produce(bootstrap: str, records: list[tuple[str, Event | bytes, str]]) -> None:
    """Publish (topic, event or raw bytes, key) in order and wait for every ack."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for topic, value, key in records:
            data = value if isinstance(value, bytes) else encode(value)
            await producer.send_and_wait(topic, data, key=key.encode())
    finally:
        await producer.stop()


def rechain(archive: Path, session_id: str, change: dict[str, dict[str, Any]]) -> bytes:
    """Apply `change` (event id -> new column values) to the session's rows, then recompute every
    stored digest and link of the session so the rows chain again; the new last link."""
    files: dict[Path, tuple[pa.Schema, list[dict[str, Any]]]] = {}
    mine: list[tuple[int, str, dict[str, Any]]] = []
    for name in TABLES:
        for path in sorted((archive / name).rglob("*.parquet")):
            data = pq.read_table(path, partitioning=None)
            rows = [dict(r) for r in data.to_pylist()]
            files[path] = (data.schema, rows)
            mine += [(r["audit_seq"], name, r) for r in rows if r["session_id"] == session_id]
    prev = GENESIS
    for _, name, row in sorted(mine, key=lambda x: x[0]):
        row.update(change.get(row["event_id"], {}))
        row["audit_digest"] = digest(TABLES[name].canonical(row))
        row["audit_link"] = prev = link(prev, row["audit_digest"])
    for path, (schema, rows) in files.items():
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, compression="zstd")
    return prev
