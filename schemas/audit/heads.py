"""Signed chain heads: what the compacted `<prefix>.audit` topic holds, keyed by session id.

The archiver seals a head for every session it appended events to, after the files holding
those events are durable, and publishes it keyed by session id; compaction keeps the latest.
A head is signed over its own MessagePack encoding with `signature` empty.

Heads chain: each one carries `prev_head`, the hash of the head it supersedes (its encoded bytes,
signature included), so a genuine but older head published again later is recognisable as a
rollback. The first head that covers the session's SessionEnded and every head after it carry
its chain position in `end_seq` (`final`): a session whose latest head is not final has not
ended, or was truncated.
"""

from __future__ import annotations

import hashlib
import time

import msgspec

from schemas.audit.chain import ANCHOR_EVERY, Chain
from schemas.audit.errors import HeadError
from schemas.audit.keys import SigningKey, VerifyKey


class ChainHead(msgspec.Struct, frozen=True, kw_only=True):
    """The signed state of one session's chain."""

    session_id: str
    """The session; also the Kafka key of the head."""
    count: int
    """Events in the chain (audit_seq 0 .. count - 1)."""
    link: bytes
    """The link after the last event."""
    last_event_id: str
    """Id of the last event in the chain."""
    anchors: tuple[bytes, ...]
    """The link after every `anchor_every`-th event."""
    anchor_every: int = ANCHOR_EVERY
    """Events between anchors."""
    prev_head: bytes = b""
    """`hash()` of the head this one supersedes; empty for a session's first head."""
    end_seq: int = -1
    """Chain position of the session's SessionEnded; -1 while it has not been chained."""
    key_id: str = ""
    """Which key signed the head (see `VerifyKey.key_id`)."""
    sealed_wall_time_ns: int = 0
    """When the head was signed; informational."""
    signature: bytes = b""
    """Ed25519 signature of the head encoded with this field empty."""

    @property
    def final(self) -> bool:
        """Whether the chain covers the session's SessionEnded."""
        return self.end_seq >= 0

    def body(self) -> bytes:
        """The bytes the signature covers."""
        return _encoder.encode(msgspec.structs.replace(self, signature=b""))

    def hash(self) -> bytes:
        """sha256 of the head's encoding, signature included: what the next head's `prev_head` holds."""
        return hashlib.sha256(encode_head(self)).digest()

    def chain(self) -> Chain:
        """The chain state this head describes, for an archiver that resumes appending."""
        return Chain(self.count, self.link, list(self.anchors), self.last_event_id, self.end_seq)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(ChainHead)


def seal(session_id: str, chain: Chain, key: SigningKey, prev_head: bytes = b"") -> ChainHead:
    """A head for `chain`, superseding the head whose `hash()` is `prev_head`, signed with `key`."""
    head = ChainHead(
        session_id=session_id,
        count=chain.count,
        link=chain.link,
        last_event_id=chain.last_event_id,
        anchors=tuple(chain.anchors),
        prev_head=prev_head,
        end_seq=chain.end_seq,
        key_id=key.key_id,
        sealed_wall_time_ns=time.time_ns(),
    )
    return msgspec.structs.replace(head, signature=key.sign(head.body()))


def check(head: ChainHead, key: VerifyKey) -> None:
    """HeadError unless `head` carries a valid signature by `key`."""
    if head.key_id != key.key_id:
        raise HeadError(
            f"the chain head of {head.session_id} was signed by key {head.key_id}; "
            f"the key given is {key.key_id}: pass the archiver's public key with --public-key"
        )
    if not key.verifies(head.signature, head.body()):
        raise HeadError(f"the chain head of {head.session_id} has an invalid signature: the head itself was altered")


def encode_head(head: ChainHead) -> bytes:
    """The head's bytes on the audit topic."""
    return _encoder.encode(head)


def decode_head(data: bytes) -> ChainHead:
    """The head in `data`; HeadError if it is not one."""
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # msgspec lets invalid UTF-8 in a str through
        raise HeadError(f"expected a signed chain head on the audit topic; got {len(data)} bytes: {exc}") from exc
