"""A restarting archiver continues only checkpoint heads it sealed itself and that chain to the topic's."""

from __future__ import annotations

from pathlib import Path

import msgspec

from processors.archiver.trust import trusted_heads
from schemas.audit import Chain, ChainHead, SigningKey, generate_key, seal


def sealed(key: SigningKey, n: int, prev: bytes = b"", session: str = "s") -> ChainHead:
    chain = Chain()
    for i in range(n):
        chain.append(f"e{i}", f"event {i}".encode())
    return seal(session, chain, key, prev)


def test_the_topic_head_itself_or_its_successor_is_trusted(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k")
    first = sealed(key, 3)
    second = sealed(key, 5, first.hash())
    assert trusted_heads([first], {"s": first}, key) == ([first], [])
    assert trusted_heads([second], {"s": first}, key) == ([second], [])
    assert trusted_heads([first], {}, key) == ([first], []), "sealed, then the crash came before publishing"


def test_planted_foreign_older_and_unchained_heads_are_rejected(tmp_path: Path) -> None:
    key, other = generate_key(tmp_path / "k"), generate_key(tmp_path / "o")
    first = sealed(key, 3)
    second = sealed(key, 5, first.hash())
    planted = msgspec.structs.replace(second, link=b"\x00" * 32)
    cases = {
        "invalid signature": (planted, {"s": first}),
        "signed by key": (sealed(other, 5, first.hash()), {"s": first}),
        "older or planted": (first, {"s": second}),
        "does not chain": (second, {}),
    }
    for reason, (head, on_topic) in cases.items():
        trusted, rejected = trusted_heads([head], on_topic, key)
        assert trusted == [] and len(rejected) == 1 and reason in rejected[0].reason, reason
