"""The per-session audit hash chain.

Canonical bytes of an event: `schemas.encode(event)`, the MessagePack wire encoding. The archiver
hashes the event it decoded off the wire; the verifier hashes the event rebuilt from its archived
row (`TableSpec.event_from_row`). Both are equal to the bytes on the wire for events written by
this schema version, and any change to any archived event field changes them.

Canonical order: a session's events are chained in the order the archiver appended them to the
archive, which is recorded with every row as `audit_seq` (0, 1, 2, ... per session). The order
therefore survives archiving: which file, which partition folder or which row of a file an event
lands in does not matter, and files can be compacted or moved without breaking the chain.

    digest_i = sha256(canonical bytes of event i)
    link_i   = sha256(link_{i-1} || digest_i)        with link_{-1} = GENESIS

Every ANCHOR_EVERY-th link is an *anchor*. The signed chain head carries the count, the last link
and every anchor, so a verifier can confine a rewrite to ANCHOR_EVERY events even when whoever
altered the archive also recomputed the links stored beside the rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

GENESIS = hashlib.sha256(b"microturn.audit.v1").digest()
"""The link before a session's first event."""

ANCHOR_EVERY = 64
"""Events between two anchors of a chain."""


def digest(data: bytes) -> bytes:
    """sha256 of an event's canonical bytes."""
    return hashlib.sha256(data).digest()


def link(prev: bytes, event_digest: bytes) -> bytes:
    """The link after an event: sha256(previous link || the event's digest)."""
    return hashlib.sha256(prev + event_digest).digest()


@dataclass(frozen=True)
class Appended:
    """Where one event went in its session's chain; archived beside the event."""

    seq: int
    """Position in the chain (the row's `audit_seq`)."""
    digest: bytes
    """sha256 of the event's canonical bytes (`audit_digest`)."""
    link: bytes
    """The chain link after this event (`audit_link`)."""
    prev_event_id: str
    """Id of the event before it in the chain, "" for the first (`audit_prev_event_id`)."""


@dataclass
class Chain:
    """One session's chain state: what a restarted archiver must get back to go on appending."""

    count: int = 0
    """Events chained so far."""
    link: bytes = GENESIS
    """The link after the last event."""
    anchors: list[bytes] = field(default_factory=list)
    """links[k * ANCHOR_EVERY - 1] for k = 1, 2, ...: the link after every ANCHOR_EVERY-th event."""
    last_event_id: str = ""
    """Id of the last event chained."""
    end_seq: int = -1
    """Chain position of the session's SessionEnded; -1 until it was chained."""

    def append(self, event_id: str, canonical: bytes, *, ends: bool = False) -> Appended:
        """Chain the event with id `event_id` and canonical bytes `canonical`.

        `ends`: the event is the session's SessionEnded (the first one chained ties the chain's end).
        """
        d = digest(canonical)
        self.link = link(self.link, d)
        done = Appended(self.count, d, self.link, self.last_event_id)
        if ends and self.end_seq < 0:
            self.end_seq = self.count
        self.count += 1
        self.last_event_id = event_id
        if self.count % ANCHOR_EVERY == 0:
            self.anchors.append(self.link)
        return done
