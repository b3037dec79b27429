"""Fuzzing the audit verifier with what an attacker controls: the audit topic and the archive's files.

Properties: the walk of the audit topic never raises and never returns a head the key did not
sign; reading a session out of hostile Parquet files gives rows or an AuditError, never a crash;
and the verdict over any rows is a finding or intact, never an exception.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.archiver.tables import TABLES
from replay.audit.archived import load_session
from replay.audit.errors import AuditError
from replay.audit.verify import first_finding
from schemas.audit import (
    Chain,
    ChainHead,
    HeadError,
    HeadRecord,
    decode_head,
    encode_head,
    generate_key,
    seal,
    walk_heads,
)

WORK = Path(tempfile.mkdtemp(prefix="fuzz-verify-"))
KEY = generate_key(WORK / "audit.key")
_runs = itertools.count()


def _genuine_heads(n: int) -> list[bytes]:
    chain, out, prev = Chain(), [], b""
    for i in range(n):
        chain.append(f"s/e/{i}", f"event {i}".encode(), ends=i == n - 1)
        head = seal("s", chain, KEY, prev)
        prev = head.hash()
        out.append(encode_head(head))
    return out


GENUINE = _genuine_heads(5)
GENUINE_HEADS = {decode_head(g) for g in GENUINE}


def _decoded(value: bytes) -> ChainHead | None:
    try:
        return decode_head(value)
    except HeadError:
        return None


def _flip(data: bytes, at: int, bit: int) -> bytes:
    i = at % len(data)
    return data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :]


RECORDS = st.one_of(
    st.sampled_from(GENUINE),
    st.builds(_flip, st.sampled_from(GENUINE), st.integers(0, 10_000), st.integers(0, 7)),
    st.binary(max_size=300),
    st.just(b""),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(RECORDS, max_size=12))
def test_the_head_walk_never_raises_and_returns_only_genuine_heads(values: list[bytes]) -> None:
    records = [HeadRecord(b"s", v, f"t.audit[0]@{i}") for i, v in enumerate(values)]
    walked = walk_heads(records, KEY).get("s")
    if walked is None:
        assert not values
        return
    assert walked.head is None or encode_head(walked.head) in GENUINE
    # a flipped bit in a field name leaves a genuine head (unknown fields are ignored, the signed body is re-encoded)
    forged = [v for v in values if v and _decoded(v) not in GENUINE_HEADS]
    assert len([p for p in walked.problems if p.kind == "forged_head"]) == len(forged)


_TYPES = st.sampled_from([pa.int64(), pa.string(), pa.binary(), pa.float64(), pa.bool_(), pa.int32()])
_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "int64": st.integers(-(2**63), 2**63 - 1),
    "int32": st.integers(-(2**31), 2**31 - 1),
    "string": st.text(max_size=20),
    "binary": st.binary(max_size=40),
    "double": st.floats(),
    "bool": st.booleans(),
}


@st.composite
def hostile_file(draw: st.DrawFn) -> tuple[str, pa.Table]:
    """A Parquet table for one archive table, any subset of its columns, any types, any values."""
    name = draw(st.sampled_from(sorted(TABLES)))
    columns = draw(st.lists(st.sampled_from(TABLES[name].schema.names), unique=True, max_size=8))
    columns = ["session_id", *[c for c in columns if c != "session_id"]]
    n = draw(st.integers(1, 4))
    arrays = {}
    for column in columns:
        kind = pa.string() if column == "session_id" else draw(_TYPES)
        values = st.just("s") if column == "session_id" else _VALUES[str(kind)]
        arrays[column] = pa.array(draw(st.lists(st.one_of(st.none(), values), min_size=n, max_size=n)), kind)
    return name, pa.table(arrays)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_file(), min_size=1, max_size=3), st.integers(0, 6))
def test_hostile_files_give_findings_not_crashes(files: list[tuple[str, pa.Table]], sealed: int) -> None:
    root = WORK / f"archive-{next(_runs)}"
    for i, (name, table) in enumerate(files):
        folder = root / name / "date=2026-01-01" / "hour=00"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / f"part-{i:010d}-x-{i}.parquet")
    try:
        rows = load_session(root, "s")
    except AuditError:
        return
    chain = Chain()
    for i in range(sealed):
        chain.append(f"s/e/{i}", f"event {i}".encode())
    finding = first_finding(rows, seal("s", chain, KEY))
    assert finding is None or finding.kind in ("modified", "deleted", "inserted", "reordered")
