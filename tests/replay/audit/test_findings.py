"""The verifier's diagnosis on synthetic chains: each kind of tampering, named at its first event."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from replay.audit.archived import ArchivedEvent, load_session
from replay.audit.errors import AuditError
from replay.audit.verify import first_finding
from schemas.audit.chain import ANCHOR_EVERY, GENESIS, Chain, digest, link
from schemas.audit.errors import HeadError
from schemas.audit.heads import ChainHead, check, decode_head, encode_head, seal
from schemas.audit.keys import generate_key


def sealed(n: int) -> tuple[list[ArchivedEvent], Chain]:
    chain, rows = Chain(), []
    for i in range(n):
        data = f"event {i}".encode()
        a = chain.append(f"e{i}", data)
        rows.append(ArchivedEvent("t", f"e{i}", a.seq, a.digest, a.digest, a.link, a.prev_event_id, f"x[0]@{i}"))
    return rows, chain


def altered(row: ArchivedEvent, content: bytes) -> ArchivedEvent:
    return dataclasses.replace(row, digest=digest(content))


Sealer = Callable[[Chain], ChainHead]


@pytest.fixture
def head_of(tmp_path: Path) -> Sealer:
    key = generate_key(tmp_path / "k")
    return lambda chain: seal("s", chain, key)


def test_an_intact_chain_has_no_finding(head_of: Sealer) -> None:
    rows, chain = sealed(150)
    assert first_finding(rows, head_of(chain)) is None


def test_modified_deleted_inserted_reordered(head_of: Sealer) -> None:
    rows, chain = sealed(20)
    head = head_of(chain)

    modified = [*rows[:5], altered(rows[5], b"other"), *rows[6:]]
    assert (f := first_finding(modified, head)) and (f.kind, f.event_id, f.position) == ("modified", "e5", 5)

    deleted = rows[:7] + rows[8:]
    assert (f := first_finding(deleted, head)) and (f.kind, f.event_id, f.position) == ("deleted", "e7", 7)

    forged = dataclasses.replace(rows[3], event_id="forged", digest=digest(b"forged"))
    assert (f := first_finding([*rows[:9], forged, *rows[9:]], head)) and (f.kind, f.event_id) == ("inserted", "forged")
    assert (f := first_finding([*rows, forged], head)) and (f.kind, f.position) == ("inserted", 20)
    assert (f := first_finding([*rows[:4], rows[3], *rows[4:]], head)) and f.kind == "inserted"

    swapped = [*rows[:10], rows[11], rows[10], *rows[12:]]
    assert (f := first_finding(swapped, head)) and (f.kind, f.event_id, f.position) == ("reordered", "e11", 10)
    far = [*rows[:2], rows[15], *rows[3:15], rows[2], *rows[16:]]
    assert (f := first_finding(far, head)) and (f.kind, f.event_id) == ("reordered", "e15")
    contents = [*rows[:4], altered(rows[4], b"event 9"), *rows[5:9], altered(rows[9], b"event 4"), *rows[10:]]
    assert (f := first_finding(contents, head)) and (f.kind, f.position) == ("reordered", 4)

    assert (f := first_finding(rows[:-2], head)) and (f.kind, f.event_id) == ("deleted", "e19")


def test_a_rewrite_that_recomputes_the_stored_links_is_caught_by_the_signed_anchors(head_of: Sealer) -> None:
    rows, chain = sealed(3 * ANCHOR_EVERY + 5)
    head = head_of(chain)
    forged, prev = list(rows[:100]), rows[99].stored_link
    for i, row in enumerate(rows[100:], start=100):
        d = digest(b"rewritten" if i == 100 else f"event {i}".encode())
        prev = link(prev, d)
        forged.append(dataclasses.replace(row, digest=d, stored_digest=d, stored_link=prev))
    f = first_finding(forged, head)  # event 100 lies between the anchors after events 64 and 128
    assert f and (f.kind, f.position, f.event_id) == ("modified", ANCHOR_EVERY, "e64") and "rewritten" in f.detail

    tail, prev = list(rows[:-1]), rows[-2].stored_link  # after the last anchor only the head's link signs
    d = digest(b"rewritten")
    tail.append(dataclasses.replace(rows[-1], digest=d, stored_digest=d, stored_link=link(prev, d)))
    f = first_finding(tail, head)
    assert f and (f.kind, f.position) == ("modified", 3 * ANCHOR_EVERY)


def test_heads_are_signed_and_checked(tmp_path: Path) -> None:
    key, other = generate_key(tmp_path / "a"), generate_key(tmp_path / "b")
    _, chain = sealed(70)
    head = decode_head(encode_head(seal("s", chain, key)))
    check(head, key)
    assert head.count == 70 and head.anchors == (chain.anchors[0],) and head.chain().link == chain.link
    with pytest.raises(HeadError, match="signed by key"):
        check(head, other)
    with pytest.raises(HeadError, match="invalid signature"):
        check(msgspec.structs.replace(head, count=71), key)
    assert hashlib.sha256(b"microturn.audit.v1").digest() == GENESIS


def test_rows_no_archiver_wrote_are_findings_and_junk_files_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "archive" / "text_event" / "date=2026-01-01" / "hour=00"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"session_id": ["s"], "audit_seq": ["zero"]}), folder / "part-1-x-1.parquet")
    rows = load_session(tmp_path / "archive", "s")
    key = generate_key(tmp_path / "k")
    f = first_finding(rows, seal("s", Chain(), key))
    assert f and f.kind == "inserted" and "unreadable text_event row" in f.detail
    # found by the fuzz suite: a map column holding a string, an infinite chain position
    ended = tmp_path / "archive" / "session_ended" / "date=2026-01-01" / "hour=00"
    ended.mkdir(parents=True)
    hostile = {"session_id": ["s"], "stats": ["0"], "audit_seq": [float("inf")]}
    pq.write_table(pa.table(hostile), ended / "part-1-x-1.parquet")
    rows = load_session(tmp_path / "archive", "s")
    assert [r.audit_seq for r in rows] == [2**63, 2**63]
    assert (f := first_finding(rows, seal("s", Chain(), key))) and f.kind == "inserted"
    (folder / "part-2-x-2.parquet").write_bytes(b"not parquet")
    with pytest.raises(AuditError, match=r"part-2-x-2\.parquet"):
        load_session(tmp_path / "archive", "s")
