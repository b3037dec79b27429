"""Fuzzing the archiver's record path: arbitrary bytes and well-typed but hostile events.

Every record goes through `admit` (what the archiver does with each consumed record), the chain,
the epoch's batch and a durable Parquet write, exactly as in `Archiver._add`/`commit_epoch`.
Properties: nothing raises; a record is either archived or dead-lettered; and every archived
session verifies intact against the head sealed over it (the verifier rebuilds, from the Parquet
rows, the very bytes the archiver hashed).
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.archiver.archiver import admit
from processors.archiver.batch import EpochBatch
from processors.archiver.durable import write_parquet
from processors.archiver.sealer import Sealer
from processors.archiver.tables import INT64_MAX, TABLE_OF
from replay.audit.archived import load_session
from replay.audit.verify import first_finding
from schemas import SessionEnded, encode
from schemas.audit import generate_key
from tests.processors.archiver.hostile_events import wire_records

KEYS = Path(tempfile.mkdtemp(prefix="fuzz-keys-"))
KEY = generate_key(KEYS / "audit.key")
SESSIONS = st.sampled_from(["a", "b", "", "a'b", "../x", "é\n\x1b[31m"])
_runs = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    values=st.lists(wire_records(SESSIONS), min_size=1, max_size=6),
    timestamps=st.lists(st.integers(-(2**63), INT64_MAX), min_size=6, max_size=6),
)
def test_every_record_is_archived_or_dead_lettered_and_what_is_archived_verifies(
    values: list[bytes], timestamps: list[int]
) -> None:
    sealer, batch = Sealer(KEY), EpochBatch(roll_bytes=1 << 30, roll_age_s=1e9)
    archived = refused = 0
    for offset, value in enumerate(values):
        admitted = admit("t.input", 0, offset, b"a", value)
        if admitted.refused:
            assert admitted.problem, "a refused record says why"
            refused += 1
            continue
        event = admitted.event
        appended = sealer.append(event.session_id, event.event_id, encode(event), ends=isinstance(event, SessionEnded))
        batch.add(TABLE_OF[type(event)], event, ("t.input", 0, offset, timestamps[offset]), appended, len(value))
        archived += 1
    assert archived + refused == len(values)
    root = KEYS / f"archive-{next(_runs)}"
    for planned in batch.files(1):
        write_parquet(root / planned.relpath, planned.table, planned.spec.binary_columns)
    for head in sealer.seal_touched():
        rows = load_session(root, head.session_id) if root.is_dir() else []
        assert first_finding(rows, head) is None, head.session_id
