"""Heads chain to each other, the last one is tied to SessionEnded, and the walk of the audit topic
tells genuine heads from forged and replayed ones."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from schemas.audit import Chain, ChainHead, HeadRecord, SigningKey, encode_head, generate_key, seal, walk_heads


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    return generate_key(tmp_path / "audit.key")


def heads(key: SigningKey, epochs: list[int], end_in: int | None = None) -> list[ChainHead]:
    """One head per epoch of `epochs[i]` events; the SessionEnded is the last event of epoch `end_in`."""
    chain, out, prev = Chain(), [], b""
    for i, n in enumerate(epochs):
        for j in range(n):
            chain.append(f"s/e/{chain.count}", f"event {chain.count}".encode(), ends=i == end_in and j == n - 1)
        head = seal("s", chain, key, prev)
        out.append(head)
        prev = head.hash()
    return out


def records(*values: bytes) -> list[HeadRecord]:
    return [HeadRecord(b"s", v, f"t.audit[0]@{i}") for i, v in enumerate(values)]


def test_each_head_names_the_one_before_and_the_last_is_final(key: SigningKey) -> None:
    h = heads(key, [3, 2, 4], end_in=1)
    assert h[0].prev_head == b"" and h[1].prev_head == h[0].hash() and h[2].prev_head == h[1].hash()
    assert (h[0].final, h[1].final, h[2].final) == (False, True, True) and h[2].end_seq == 4
    walked = walk_heads(records(*map(encode_head, h)), key)["s"]
    assert walked.head == h[2] and walked.problems == []


def test_a_republished_older_head_is_truncation_and_does_not_win(key: SigningKey) -> None:
    h = heads(key, [3, 2, 4])
    walked = walk_heads(records(*map(encode_head, [*h, h[0]])), key)["s"]
    assert walked.head == h[2] and [p.kind for p in walked.problems] == ["truncated"]
    assert walked.problems[0].where == "t.audit[0]@3"
    # compaction left only the newest head, then an older one unseen so far was published
    walked = walk_heads(records(encode_head(h[2]), encode_head(h[1])), key)["s"]
    assert walked.head == h[2] and [p.kind for p in walked.problems] == ["truncated"]


def test_republishing_the_same_head_and_gaps_left_by_compaction_are_fine(key: SigningKey) -> None:
    h = heads(key, [3, 2, 4, 1])
    walked = walk_heads(records(*map(encode_head, [h[0], h[0], h[2], h[3], h[3]])), key)["s"]
    assert walked.head == h[3] and walked.problems == []


def test_junk_unsigned_altered_and_foreign_heads_are_forged(key: SigningKey, tmp_path: Path) -> None:
    h = heads(key, [3, 2])
    other = generate_key(tmp_path / "other.key")
    foreign = seal("s", h[1].chain(), other, h[1].hash())
    values = [
        encode_head(h[0]),
        b"\x00junk",
        encode_head(msgspec.structs.replace(h[1], signature=b"")),
        encode_head(msgspec.structs.replace(h[1], count=99)),
        encode_head(foreign),
        encode_head(msgspec.structs.replace(h[1], session_id="t")),
        encode_head(h[1]),
    ]
    walked = walk_heads(records(*values), key)["s"]
    assert walked.head == h[1]
    assert [p.kind for p in walked.problems] == ["forged_head"] * 5
    assert walked.other_keys == {other.key_id}
    assert walk_heads(records(b"", encode_head(h[0])), key)["s"].head == h[0], "a tombstone is skipped"


def test_invalid_utf8_on_the_audit_topic_is_a_forged_head_not_a_crash(key: SigningKey) -> None:
    walked = walk_heads(records(b"\x81\xaasession_id\xa1\x80"), key)["s"]
    assert walked.head is None and [p.kind for p in walked.problems] == ["forged_head"]
